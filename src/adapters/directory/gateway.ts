// Connections to tenants' domains: a few bound LDAPS connections per tenant, reused across
// operations, rebuilt when a connection breaks or the tenant's settings change.
import { createHash } from 'node:crypto';
import { ResultCodeError, type Client } from 'ldapts';
import type { DirectoryGateway, TenantDirectory } from '../../services/ports/directory.ts';
import type { TenantRecord } from '../../services/ports/tenants.ts';
import { closeQuietly, openLdapClient, type LdapClientOptions } from './client.ts';
import { createTenantDirectory } from './tenant-directory.ts';

export interface GatewayOptions extends LdapClientOptions {
  /** Connections per tenant; Samba serialises writes, so a few are enough. */
  connectionsPerTenant: number;
  observe?(tenantId: string, operation: string, ms: number): void;
}

interface Pool {
  key: string;
  slots: Array<Promise<Client> | null>;
  next: number;
  directory: TenantDirectory;
}

export function createDirectoryGateway(options: GatewayOptions): DirectoryGateway {
  const pools = new Map<string, Pool>();

  // A pool is known by what its connections were made with; the sealed password stands for the
  // password (sealed afresh whenever it changes), so a pool in use is found without opening it.
  const keyOf = (tenant: TenantRecord) =>
    createHash('sha256')
      .update(JSON.stringify([tenant.directory.url, tenant.directory.bindDn, tenant.directory.caCertificate, tenant.bindPasswordSealed]))
      .digest('hex');

  async function poolFor(tenant: TenantRecord, openPassword: () => Promise<string>): Promise<Pool> {
    const key = keyOf(tenant);
    const existing = pools.get(tenant.id);
    if (existing && existing.key === key) return existing;
    const bindPassword = await openPassword();
    // Another caller may have built it meanwhile.
    const built = pools.get(tenant.id);
    if (built && built.key === key) return built;
    if (built) void drain(built);

    const connect = async (): Promise<Client> => {
      const client = openLdapClient(tenant.directory, options);
      try {
        await client.bind(tenant.directory.bindDn, bindPassword);
      } catch (error) {
        await closeQuietly(client);
        throw error;
      }
      return client;
    };

    const pool: Pool = {
      key,
      slots: Array.from({ length: Math.max(1, options.connectionsPerTenant) }, () => null),
      next: 0,
      directory: undefined as unknown as TenantDirectory,
    };
    pool.directory = createTenantDirectory(
      {
        baseDn: tenant.directory.baseDn,
        observe: options.observe ? (operation, ms) => options.observe!(tenant.id, operation, ms) : undefined,
        async use(work) {
          const index = pool.next++ % pool.slots.length;
          for (let attempt = 0; ; attempt++) {
            pool.slots[index] ??= connect();
            const slot = pool.slots[index]!;
            let client: Client;
            try {
              client = await slot;
            } catch (error) {
              if (pool.slots[index] === slot) pool.slots[index] = null;
              if (attempt >= 1) throw error;
              continue;
            }
            try {
              return await work(client);
            } catch (error) {
              // An LDAP result (no such object, already exists…) is an answer; anything else is a
              // broken connection: drop it and try once more on a fresh one.
              if (error instanceof ResultCodeError) throw error;
              if (pool.slots[index] === slot) pool.slots[index] = null;
              void slot.then(closeQuietly, () => undefined);
              if (attempt >= 1) throw error;
            }
          }
        },
      },
      `tenant ${tenant.id}`,
    );
    pools.set(tenant.id, pool);
    return pool;
  }

  async function drain(pool: Pool) {
    const slots = pool.slots.splice(0);
    await Promise.all(slots.map((slot) => slot?.then(closeQuietly, () => undefined)));
  }

  return {
    forTenant: async (tenant, openPassword) => (await poolFor(tenant, openPassword)).directory,
    async close() {
      await Promise.all([...pools.values()].map(drain));
      pools.clear();
    },
  };
}
