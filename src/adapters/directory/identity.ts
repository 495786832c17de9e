// The `ldap` identity source: a technician's password is checked by binding as them to the MSP's
// own directory (by user principal name), over LDAPS verified with the configured CA.
import { InvalidCredentialsError } from 'ldapts';
import type { IdentitySource } from '../../services/ports/identity.ts';
import { closeQuietly, openLdapClient, type LdapClientOptions } from './client.ts';
import { translateDirectoryError } from './errors.ts';

export interface LdapIdentitySettings {
  url: string;
  caCertificate: string;
  /** Technicians bind as `<username>@<userPrincipalSuffix>`. */
  userPrincipalSuffix: string;
}

export function createLdapIdentitySource(settings: LdapIdentitySettings, options: LdapClientOptions): IdentitySource {
  return {
    kind: 'ldap',
    async verifyPassword(technician, password) {
      // Never let an empty password become an anonymous bind that succeeds.
      if (password.length === 0) return false;
      const client = openLdapClient(settings, options);
      try {
        await client.bind(`${technician.username}@${settings.userPrincipalSuffix}`, password);
        return true;
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return false;
        throw translateDirectoryError(error, 'checking a password against the identity directory');
      } finally {
        await closeQuietly(client);
      }
    },
  };
}
