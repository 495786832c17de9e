// Seeds the demo: a tenant on the local demo domain, an admin who enrols at first login, and a
// technician whose authenticator is pre-enrolled so the printed secret works at once.
import { systemContext } from '../services/context.ts';
import { totpSecretContext } from '../services/access/index.ts';
import type { Clock } from '../services/ports/runtime.ts';
import type { SecretBox, TotpEngine } from '../services/ports/crypto.ts';
import type { Store } from '../services/ports/store.ts';
import type { TenantDirectory } from '../services/ports/directory.ts';
import type { AccountService } from '../services/tenants/index.ts';
import type { ProfileService } from '../services/tenants/index.ts';
import type { TenantAccess } from '../services/tenants/index.ts';
import type { TechnicianService } from '../services/access/index.ts';
import type { TenantService } from '../services/tenants/index.ts';

export interface DemoDomain {
  name: string;
  ldapsUrl: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  caCertificate: string;
}

export interface DemoAccount {
  username: string;
  password: string;
}

export interface DemoSeedDeps {
  store: Pick<Store, 'tenants' | 'technicians' | 'accounts' | 'profiles' | 'elevations' | 'transaction'>;
  clock: Clock;
  secrets: SecretBox;
  totp: TotpEngine;
  technicians: Pick<TechnicianService, 'create'>;
  tenants: Pick<TenantService, 'create' | 'update'>;
  accounts: Pick<AccountService, 'link' | 'unlink'>;
  profiles: Pick<ProfileService, 'create' | 'update'>;
  access: TenantAccess;
}

export interface DemoSeedInput {
  domain: DemoDomain;
  admin: DemoAccount;
  technician: DemoAccount;
  grantable: { group: string; account: string };
}

const ctx = systemContext;

/** Seeds what is missing and follows a demo domain provisioned or reset since; running it again changes nothing else. */
export async function seedDemo(deps: DemoSeedDeps, input: DemoSeedInput): Promise<{ technicianTotpSecret: string | null }> {
  await ensureTenant(deps, input.domain);
  await ensureAdmin(deps, input);
  const technicianTotpSecret = await ensureTechnician(deps, input.technician);
  // jdoe's own account in the demo domain, and a profile granting an ordinary group for 15 minutes.
  // The demo domain may have been reset since (scripts/samba.sh reset): its objects were made again,
  // with new objectGUIDs; the link and the profile follow them.
  const demoDirectory = await deps.access.directory(await deps.access.tenant(input.domain.name));
  await ensureLink(deps, input, demoDirectory);
  await ensureProfile(deps, input, demoDirectory);
  return { technicianTotpSecret };
}

async function ensureTenant(deps: DemoSeedDeps, domain: DemoDomain): Promise<void> {
  const directory = {
    url: domain.ldapsUrl,
    bindDn: domain.bindDn,
    bindPassword: domain.bindPassword,
    baseDn: domain.baseDn,
    caCertificate: domain.caCertificate,
  };
  const existing = await deps.store.tenants.findById(domain.name);
  if (existing && existing.directory.caCertificate !== domain.caCertificate) {
    // The local demo domain was provisioned again (new CA, new password): follow it.
    await deps.tenants.update(domain.name, { directory }, 'system', ctx);
  }
  if (!existing) {
    await deps.tenants.create(
      {
        id: domain.name,
        displayName: `${domain.name[0]!.toUpperCase()}${domain.name.slice(1)} (demo)`,
        timeZone: 'Europe/London',
        directory,
      },
      'system',
      ctx,
    );
  }
}

async function ensureAdmin(deps: DemoSeedDeps, input: DemoSeedInput): Promise<void> {
  if (await deps.store.technicians.findByUsername(input.admin.username)) return;
  await deps.technicians.create(
    {
      username: input.admin.username,
      displayName: 'Demo Admin',
      email: 'admin@demo.invalid',
      roles: ['admin', 'auditor', 'approver', 'technician'],
      approverTenants: [input.domain.name],
      identitySource: 'local',
      password: input.admin.password,
    },
    'system',
    ctx,
  );
}

/** The demo technician, with an authenticator enrolled already; answers its secret when it was made now. */
async function ensureTechnician(deps: DemoSeedDeps, account: DemoAccount): Promise<string | null> {
  if (await deps.store.technicians.findByUsername(account.username)) return null;
  const technician = await deps.technicians.create(
    {
      username: account.username,
      displayName: 'Demo Technician',
      email: 'tech@demo.invalid',
      roles: ['technician'],
      identitySource: 'local',
      password: account.password,
    },
    'system',
    ctx,
  );
  const secret = deps.totp.generateSecret();
  const sealed = await deps.secrets.seal(secret, totpSecretContext(technician.id));
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.technicians.setPendingTotpSecret(technician.id, sealed, now);
    await tx.technicians.confirmTotp(technician.id, now);
    await tx.audit.append({ actor: 'system', action: 'mfa.enrolment.completed', target: technician.id, details: { demo: true } }, now);
  });
  return secret;
}

async function ensureLink(deps: DemoSeedDeps, input: DemoSeedInput, demoDirectory: TenantDirectory): Promise<void> {
  const tenantId = input.domain.name;
  const jdoe = (await deps.store.technicians.findByUsername(input.technician.username))!;
  const linked = await deps.store.accounts.find(tenantId, jdoe.id);
  const gone = linked && !(await demoDirectory.accountByGuid(linked.guid));
  if (gone && (await deps.store.elevations.holding(tenantId, jdoe.id, '')).length === 0)
    await deps.accounts.unlink(tenantId, linked.id, 'system', ctx);
  if (!linked || !(await deps.store.accounts.find(tenantId, jdoe.id))) {
    await deps.accounts.link(tenantId, jdoe.id, input.grantable.account, 'system', ctx);
  }
}

async function ensureProfile(deps: DemoSeedDeps, input: DemoSeedInput, demoDirectory: TenantDirectory): Promise<void> {
  const tenantId = input.domain.name;
  const helpdesk = await deps.store.profiles.findByName(tenantId, 'helpdesk');
  if (helpdesk && (await Promise.all(helpdesk.groups.map((g) => demoDirectory.groupByGuid(g.guid)))).some((g) => !g)) {
    await deps.profiles.update(
      tenantId,
      helpdesk.id,
      {
        name: helpdesk.name,
        description: helpdesk.description,
        groups: [input.grantable.group],
        eligibleRoles: helpdesk.eligibleRoles,
        defaultDurationSeconds: helpdesk.defaultDurationSeconds,
        maxDurationSeconds: helpdesk.maxDurationSeconds,
      },
      'system',
      ctx,
    );
  }
  if (!helpdesk) {
    await deps.profiles.create(
      tenantId,
      {
        name: 'helpdesk',
        description: 'Demo: the Demo Helpdesk group',
        groups: [input.grantable.group],
        eligibleRoles: ['technician'],
        defaultDurationSeconds: 900,
        maxDurationSeconds: 3600,
      },
      'system',
      ctx,
    );
  }
}
