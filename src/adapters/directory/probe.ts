// Checks a tenant's directory connection: LDAPS with the given CA, bind, read the base DN.
import { performance } from 'node:perf_hooks';
import { DomainError } from '../../domain/errors.ts';
import type { DirectoryProbe } from '../../services/ports/directory.ts';
import { assertPemCertificate, closeQuietly, openLdapClient, type LdapClientOptions } from './client.ts';
import { translateDirectoryError } from './errors.ts';

export function createDirectoryProbe(options: LdapClientOptions): DirectoryProbe {
  return {
    async check(connection, bindPassword) {
      assertPemCertificate(connection.caCertificate, 'directory.caCertificate');
      if (bindPassword.length === 0) {
        // An empty simple-bind password is an anonymous bind that "succeeds" (RFC 4513 §5.1.2).
        throw new DomainError('validation_failed', 'The bind password must not be empty', { field: 'bindPassword' });
      }
      const started = performance.now();
      const client = openLdapClient(connection, options);
      const where = `connecting to ${connection.url}`;
      try {
        await client.bind(connection.bindDn, bindPassword);
        const { searchEntries } = await client.search(connection.baseDn, { scope: 'base', attributes: ['distinguishedName'] });
        if (searchEntries.length !== 1) {
          throw new DomainError('directory_base_dn_missing', `The base DN ${connection.baseDn} was not found`);
        }
        return { baseDn: searchEntries[0]!.dn, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        throw translateDirectoryError(error, where);
      } finally {
        await closeQuietly(client);
      }
    },
  };
}
