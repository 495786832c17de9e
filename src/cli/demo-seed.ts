// Seeds the demo: a tenant on the local demo domain, an admin who enrols at first login, and a
// technician whose authenticator is pre-enrolled so the printed secret works at once.
import { systemContext } from '../services/context.ts';
import { totpSecretContext } from '../services/access/index.ts';
import type { Clock } from '../services/ports/runtime.ts';
import type { SecretBox, TotpEngine } from '../services/ports/crypto.ts';
import type { Store } from '../services/ports/store.ts';
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

export async function seedDemo(
  deps: {
    store: Store;
    clock: Clock;
    secrets: SecretBox;
    totp: TotpEngine;
    technicians: TechnicianService;
    tenants: TenantService;
    accounts: AccountService;
    profiles: ProfileService;
    access: TenantAccess;
  },
  input: { domain: DemoDomain; admin: DemoAccount; technician: DemoAccount; grantable: { group: string; account: string } },
): Promise<{ technicianTotpSecret: string | null }> {
  const ctx = systemContext;
  const directory = {
    url: input.domain.ldapsUrl,
    bindDn: input.domain.bindDn,
    bindPassword: input.domain.bindPassword,
    baseDn: input.domain.baseDn,
    caCertificate: input.domain.caCertificate,
  };
  const existing = await deps.store.tenants.findById(input.domain.name);
  if (existing && existing.directory.caCertificate !== input.domain.caCertificate) {
    // The local demo domain was provisioned again (new CA, new password): follow it.
    await deps.tenants.update(input.domain.name, { directory }, 'system', ctx);
  }
  if (!existing) {
    await deps.tenants.create(
      {
        id: input.domain.name,
        displayName: `${input.domain.name[0]!.toUpperCase()}${input.domain.name.slice(1)} (demo)`,
        timeZone: 'Europe/London',
        directory,
      },
      'system',
      ctx,
    );
  }
  if (!(await deps.store.technicians.findByUsername(input.admin.username))) {
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
  let technicianTotpSecret: string | null = null;
  if (!(await deps.store.technicians.findByUsername(input.technician.username))) {
    const technician = await deps.technicians.create(
      {
        username: input.technician.username,
        displayName: 'Demo Technician',
        email: 'tech@demo.invalid',
        roles: ['technician'],
        identitySource: 'local',
        password: input.technician.password,
      },
      'system',
      ctx,
    );
    technicianTotpSecret = deps.totp.generateSecret();
    const sealed = await deps.secrets.seal(technicianTotpSecret, totpSecretContext(technician.id));
    const now = deps.clock.now();
    await deps.store.transaction(async (tx) => {
      await tx.technicians.setPendingTotpSecret(technician.id, sealed, now);
      await tx.technicians.confirmTotp(technician.id, now);
      await tx.audit.append({ actor: 'system', action: 'mfa.enrolment.completed', target: technician.id, details: { demo: true } }, now);
    });
  }
  // jdoe's own account in the demo domain, and a profile granting an ordinary group for 15 minutes.
  // The demo domain may have been reset since (scripts/samba.sh reset): its objects were made again,
  // with new objectGUIDs; the link and the profile follow them.
  const demoDirectory = await deps.access.directory(await deps.access.tenant(input.domain.name));
  const jdoe = (await deps.store.technicians.findByUsername(input.technician.username))!;
  const linked = await deps.store.accounts.find(input.domain.name, jdoe.id);
  const gone = linked && !(await demoDirectory.accountByGuid(linked.guid));
  if (gone && (await deps.store.elevations.holding(input.domain.name, jdoe.id, '')).length === 0)
    await deps.accounts.unlink(input.domain.name, linked.id, 'system', ctx);
  if (!linked || !(await deps.store.accounts.find(input.domain.name, jdoe.id))) {
    await deps.accounts.link(input.domain.name, jdoe.id, input.grantable.account, 'system', ctx);
  }
  const helpdesk = await deps.store.profiles.findByName(input.domain.name, 'helpdesk');
  if (helpdesk && (await Promise.all(helpdesk.groups.map((g) => demoDirectory.groupByGuid(g.guid)))).some((g) => !g)) {
    await deps.profiles.update(
      input.domain.name,
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
      input.domain.name,
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
  return { technicianTotpSecret };
}
