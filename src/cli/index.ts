// The `stint` command: serve, migrate, config check, admin/technician/tenant management, keys,
// audit checks and the demo. Each command builds the container it needs and closes it.
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { text } from 'node:stream/consumers';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, maskedConfig } from '../config/load.ts';
import {
  createContainer,
  createOfflineExportVerifier,
  currentTotpCode,
  generateMasterKey,
  migrateDatabase,
  type Container,
} from '../container.ts';
import { auditActions, type AuditAction } from '../domain/audit.ts';
import { exportFormats, type ExportFilter, type ExportFormat } from '../domain/audit-export.ts';
import type { StreamedExport } from '../services/audit/index.ts';
import { roles, type Role } from '../domain/roles.ts';
import { systemContext } from '../services/context.ts';
import { seedDemo, type DemoDomain } from './demo-seed.ts';
import { readApplyFile } from './apply-file.ts';
import { presentTechnician } from '../services/access/index.ts';
import { presentTenant } from '../services/tenants/index.ts';
import { serve } from '../main.ts';

function print(value: unknown): void {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
}

async function withContainer<T>(work: (container: Container) => Promise<T>): Promise<T> {
  const container = await createContainer(loadConfig(), { role: 'cli' });
  try {
    return await work(container);
  } finally {
    await container.close();
  }
}

/** Secrets come from standard input (or a file), never from the command line, where `ps` shows them. */
async function readSecret(file: string | undefined, what: string): Promise<string> {
  const value = file ? readFileSync(file, 'utf8') : process.stdin.isTTY ? '' : await text(process.stdin);
  const secret = value.replace(/\r?\n$/, '');
  if (!secret) throw new Error(`give the ${what} on standard input or with --${what.replace(/ /g, '-')}-file`);
  return secret;
}

const program = new Command('stint')
  .description('Stint: just-in-time privileged access to clients’ Active Directory, with TOTP MFA and an audit trail')
  .showHelpAfterError();

program
  .command('serve')
  .description('run the API server')
  .action(async () => {
    await serve();
  });

program
  .command('migrate')
  .description('bring the database schema up to date')
  .action(async () => {
    const applied = await migrateDatabase(loadConfig());
    print(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
  });

const configCommand = program.command('config').description('configuration');
configCommand
  .command('check')
  .description('validate the configuration and print it, secrets masked')
  .action(() => {
    print(maskedConfig(loadConfig()));
  });

const adminCommand = program.command('admin').description('first-run administration');
adminCommand
  .command('create')
  .description('create an admin technician (password on standard input or --password-file)')
  .requiredOption('--username <name>')
  .requiredOption('--display-name <name>')
  .requiredOption('--email <email>')
  .option('--password-file <file>')
  .action(async (options: { username: string; displayName: string; email: string; passwordFile?: string }) => {
    const password = await readSecret(options.passwordFile, 'password');
    await withContainer(async ({ services }) => {
      const technician = await services.technicians.create(
        {
          username: options.username,
          displayName: options.displayName,
          email: options.email,
          roles: ['admin'],
          identitySource: 'local',
          password,
        },
        'system',
        systemContext,
      );
      print(presentTechnician(technician));
    });
  });

const technicianCommand = program.command('technician').description('technicians');
technicianCommand
  .command('list')
  .description('list technicians')
  .action(() => withContainer(async ({ services }) => print((await services.technicians.list()).map(presentTechnician))));
technicianCommand
  .command('create')
  .description('create a technician (local: password on standard input or --password-file)')
  .requiredOption('--username <name>')
  .requiredOption('--display-name <name>')
  .requiredOption('--email <email>')
  .addOption(new Option('--role <role...>', 'roles').choices(roles as unknown as string[]).default(['technician']))
  .addOption(new Option('--identity-source <kind>').choices(['local', 'ldap']).default('local'))
  .option('--password-file <file>')
  .action(
    async (options: {
      username: string;
      displayName: string;
      email: string;
      role: Role[];
      identitySource: 'local' | 'ldap';
      passwordFile?: string;
    }) => {
      const password = options.identitySource === 'local' ? await readSecret(options.passwordFile, 'password') : undefined;
      await withContainer(async ({ services }) => {
        const technician = await services.technicians.create({ ...options, roles: options.role, password }, 'system', systemContext);
        print(presentTechnician(technician));
      });
    },
  );
technicianCommand
  .command('suspend <username>')
  .description('suspend a technician and end their sessions at once')
  .action((username: string) =>
    withContainer(async ({ services, store }) => {
      const technician = await store.technicians.findByUsername(username);
      if (!technician) throw new Error(`no technician named ${username}`);
      print(presentTechnician(await services.technicians.update(technician.id, { status: 'suspended' }, 'system', systemContext)));
    }),
  );
technicianCommand
  .command('reset-mfa <username>')
  .description('clear a technician’s authenticator; they enrol again at the next login')
  .action((username: string) =>
    withContainer(async ({ services, store }) => {
      const technician = await store.technicians.findByUsername(username);
      if (!technician) throw new Error(`no technician named ${username}`);
      await services.technicians.resetMfa(technician.id, 'system', systemContext);
      print(`MFA reset for ${username}`);
    }),
  );

const tenantCommand = program.command('tenant').description('tenants');
tenantCommand
  .command('list')
  .description('list tenants')
  .action(() => withContainer(async ({ services }) => print((await services.tenants.list()).map(presentTenant))));
tenantCommand
  .command('check <id>')
  .description('check a tenant’s directory connection')
  .action((id: string) => withContainer(async ({ services }) => print(await services.tenants.checkConnection(id))));

program
  .command('apply')
  .description('create or update tenants and their profiles from a YAML file (idempotent; nothing is deleted)')
  .requiredOption('-f, --file <file>', 'tenants and profiles as code (see config/tenants.example.yaml)')
  .action((options: { file: string }) =>
    withContainer(async ({ services }) => {
      const report = await services.apply.apply(readApplyFile(options.file, process.env));
      print(report);
    }),
  );

const accountCommand = program.command('account').description('technicians’ own accounts in tenants’ domains');
accountCommand
  .command('link')
  .description('link a technician to their account in a tenant (by sAMAccountName, UPN or DN; stored by objectGUID)')
  .requiredOption('--tenant <id>')
  .requiredOption('--technician <username>')
  .requiredOption('--account <name>')
  .action((options: { tenant: string; technician: string; account: string }) =>
    withContainer(async ({ services, store }) => {
      const technician = await store.technicians.findByUsername(options.technician);
      if (!technician) throw new Error(`no technician named ${options.technician}`);
      print(await services.accounts.link(options.tenant, technician.id, options.account, 'system', systemContext));
    }),
  );

const keysCommand = program.command('keys').description('key management');
keysCommand
  .command('rotate-master')
  .description('re-seal every stored secret under the current master key (old keys in STINT_SECRETS__PREVIOUS_MASTER_KEYS)')
  .action(() => withContainer(async ({ services }) => print(await services.keys.rotateMasterKey('system'))));
keysCommand
  .command('rotate-signing')
  .description('start signing tokens with a new key; the old one keeps verifying for a grace period')
  .action(() => withContainer(async ({ services }) => print({ kid: await services.keys.rotateSigningKey('system') })));
keysCommand
  .command('generate-master')
  .description('print a new random master key (base64, 32 bytes)')
  .action(() => print(generateMasterKey()));

const auditCommand = program.command('audit').description('the audit trail');
auditCommand
  .command('check')
  .description('verify the stored hash chain from its anchor to the head, against the signed checkpoints')
  .action(() =>
    withContainer(async ({ services }) => {
      const result = await services.audit.verifyStoredChain();
      print(result);
      if (result.firstBreak) process.exitCode = 2;
    }),
  );

/** Writes a streamed export to a file, or to standard output. */
async function writeExport(exported: StreamedExport, output: string | undefined): Promise<void> {
  await pipeline(Readable.from(exported.lines), output ? createWriteStream(output, { mode: 0o600 }) : process.stdout);
}

const positive = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${what} must be a positive integer`);
  return n;
};
const isoTime = (what: string) => (value: string) => {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`${what} must be an ISO 8601 time`);
  return d.toISOString();
};
const formatOption = (fallback: ExportFormat) => new Option('--format <format>', 'ndjson or csv').choices(exportFormats).default(fallback);

auditCommand
  .command('export')
  .description('export the trail with a signed manifest (streamed); check it with `stint audit verify`')
  .addOption(formatOption('ndjson'))
  .option('--from-seq <n>', 'first sequence number', positive('--from-seq'))
  .option('--to-seq <n>', 'last sequence number', positive('--to-seq'))
  .option('--from <time>', 'events at or after this time', isoTime('--from'))
  .option('--to <time>', 'events before this time', isoTime('--to'))
  .option('--tenant <id>')
  .option('--technician <id>', 'the actor: a technician id, system or a Slack user')
  .addOption(new Option('--action <action>').choices(auditActions))
  .option('-o, --output <file>', 'write here instead of standard output')
  .action(
    (o: {
      format: ExportFormat;
      fromSeq?: number;
      toSeq?: number;
      from?: string;
      to?: string;
      tenant?: string;
      technician?: string;
      action?: AuditAction;
      output?: string;
    }) =>
      withContainer(async ({ services }) => {
        const filter: ExportFilter = {};
        if (o.fromSeq !== undefined) filter.fromSeq = o.fromSeq;
        if (o.toSeq !== undefined) filter.toSeq = o.toSeq;
        if (o.from !== undefined) filter.from = o.from;
        if (o.to !== undefined) filter.to = o.to;
        if (o.tenant !== undefined) filter.tenantId = o.tenant;
        if (o.technician !== undefined) filter.actor = o.technician;
        if (o.action !== undefined) filter.action = o.action;
        await writeExport(await services.audit.export(filter, o.format, 'system', systemContext), o.output);
      }),
  );
auditCommand
  .command('verify <export>')
  .description('verify an export offline with the audit public keys: OK with its range and count, or the first bad record and why')
  .requiredOption('--jwks <file|url>', 'the audit JWKS (GET /api/v1/audit/jwks.json, or `stint audit jwks`)')
  .action(async (file: string, o: { jwks: string }) => {
    const jwks = /^https?:\/\//.test(o.jwks) ? await (await fetch(o.jwks)).json() : JSON.parse(readFileSync(o.jwks, 'utf8'));
    const report = await createOfflineExportVerifier().verify(createReadStream(file), jwks as { keys: Array<Record<string, unknown>> });
    if (report.ok) {
      print(
        `OK: seq ${report.fromSeq}–${report.toSeq}, ${report.events} events, ${report.omitted} omitted by the filter; signed by ${report.kid} at ${report.createdAt}` +
          (report.checkpoint ? `; checkpoint seq ${report.checkpoint.seq} at ${report.checkpoint.at}` : ''),
      );
    } else {
      const p = report.problem;
      print(`BAD: line ${p.line}${p.seq === null ? '' : `, seq ${p.seq}`}: ${p.reason}: ${p.message}`);
      process.exitCode = 2;
    }
  });
auditCommand
  .command('jwks')
  .description('print the audit public keys (JWKS) for offline verification')
  .action(() => withContainer(async ({ services }) => print(await services.audit.jwks())));
auditCommand
  .command('checkpoint')
  .description('sign a checkpoint of the chain head now')
  .action(() =>
    withContainer(async ({ services }) => {
      const c = await services.audit.checkpointNow('system', systemContext);
      print({ seq: c.seq, hash: c.hash, at: c.at.toISOString(), kid: c.kid });
    }),
  );
auditCommand
  .command('purge')
  .description('purge events past retention that are checkpointed and forwarded (the worker does this hourly)')
  .action(() => withContainer(async ({ services }) => print(await services.audit.purge('system', systemContext))));

keysCommand
  .command('rotate-audit')
  .description('start signing checkpoints and exports with a new audit key; old keys stay published so old exports verify')
  .action(() => withContainer(async ({ services }) => print({ kid: await services.audit.rotateSigningKey('system') })));

const elevationsCommand = program.command('elevations').description('elevations');
elevationsCommand
  .command('export')
  .description('export the elevation history (one row per elevation; audited)')
  .addOption(formatOption('csv'))
  .option('--from <time>', 'requested at or after this time', isoTime('--from'))
  .option('--to <time>', 'requested before this time', isoTime('--to'))
  .option('--tenant <id>')
  .option('--technician <username>', 'the requester')
  .option('-o, --output <file>', 'write here instead of standard output')
  .action((o: { format: ExportFormat; from?: string; to?: string; tenant?: string; technician?: string; output?: string }) =>
    withContainer(async ({ services, store }) => {
      let technicianId: string | undefined;
      if (o.technician !== undefined) {
        const technician = await store.technicians.findByUsername(o.technician);
        if (!technician) throw new Error(`no technician named ${o.technician}`);
        technicianId = technician.id;
      }
      const filter = {
        from: o.from ? new Date(o.from) : undefined,
        to: o.to ? new Date(o.to) : undefined,
        tenantId: o.tenant,
        technicianId,
      };
      await writeExport(await services.elevationHistory.export(filter, o.format, 'system', systemContext), o.output);
    }),
  );

const demoCommand = program.command('demo').description('the local demo');
demoCommand
  .command('seed')
  .description('seed the demo tenant and accounts (JSON on standard input: domain, admin, technician)')
  .action(async () => {
    const input = JSON.parse(await text(process.stdin)) as {
      domain: Omit<DemoDomain, 'caCertificate'> & { caFile: string };
      admin: { username: string; password: string };
      technician: { username: string; password: string };
      grantable: { group: string; account: string };
    };
    const domain: DemoDomain = { ...input.domain, caCertificate: readFileSync(input.domain.caFile, 'utf8') };
    await withContainer(async (c) => {
      const result = await seedDemo(
        {
          store: c.store,
          clock: c.clock,
          secrets: c.secrets,
          totp: c.totp,
          technicians: c.services.technicians,
          tenants: c.services.tenants,
          accounts: c.services.accounts,
          profiles: c.services.profiles,
          access: c.access,
        },
        { domain, admin: input.admin, technician: input.technician, grantable: input.grantable },
      );
      print(result);
    });
  });
demoCommand
  .command('code')
  .description('print the current TOTP code for a secret given on standard input (acts as an authenticator app)')
  .action(async () => {
    const secret = (await text(process.stdin)).trim();
    print(await currentTotpCode(secret));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`stint: ${(error as Error).message}\n`);
  process.exit(1);
});
