// Finds the real servers the integration tests need (Redis, PostgreSQL, two Samba AD domains),
// starting them with scripts/services.sh when they are not running. Never skips: a server that
// cannot be started fails the test run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const runDir = process.env.STINT_RUN_DIR ?? `${repoRoot}.run`;

export interface SambaDomain {
  name: string;
  realm: string;
  host: string;
  ldapsUrl: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  caFile: string;
  fqdn: string;
}

export interface TestServices {
  redisUrl: string;
  postgresUrl: string;
  domains: { acme: SambaDomain; globex: SambaDomain };
}

let cached: TestServices | undefined;

function read(): TestServices | null {
  const file = `${runDir}/services.json`;
  if (!existsSync(file)) return null;
  const services = JSON.parse(readFileSync(file, 'utf8')) as { redisUrl?: string; postgresUrl?: string; sambaDomainsFile?: string };
  if (!services.redisUrl || !services.postgresUrl || !services.sambaDomainsFile || !existsSync(services.sambaDomainsFile)) return null;
  const domains = JSON.parse(readFileSync(services.sambaDomainsFile, 'utf8')) as Record<string, SambaDomain>;
  if (!domains.acme || !domains.globex) return null;
  return { redisUrl: services.redisUrl, postgresUrl: services.postgresUrl, domains: { acme: domains.acme, globex: domains.globex } };
}

export function testServices(): TestServices {
  if (cached) return cached;
  // services.sh start is idempotent: it leaves running servers alone and starts missing ones.
  try {
    execFileSync('bash', [`${repoRoot}scripts/services.sh`, 'start'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `scripts/services.sh start failed:
${stdout ?? ''}${stderr ?? ''}`,
      { cause: error },
    );
  }
  const found = read();
  if (!found) throw new Error(`scripts/services.sh start did not leave ${runDir}/services.json with every server`);
  cached = found;
  return found;
}
