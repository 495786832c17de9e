import { DomainError } from './errors.ts';

export interface DirectoryConnection {
  url: string;
  bindDn: string;
  baseDn: string;
  /** PEM text of the CA certificate(s) that the domain controller's certificate must chain to. */
  caCertificate: string;
}

export interface Tenant {
  id: string;
  displayName: string;
  timeZone: string;
  directory: DirectoryConnection;
  /** Keep MSP accounts disabled between grants (SPEC §1; on by default). */
  keepAccountsDisabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const tenantIdPattern = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** SPEC §4: `ldaps://` only; plain `ldap://` is refused in production mode. */
export function assertDirectoryUrlAllowed(url: string, production: boolean): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DomainError('validation_failed', 'The directory URL is not a valid URL', { field: 'directory.url' });
  }
  if (parsed.protocol === 'ldaps:') return;
  if (parsed.protocol === 'ldap:' && !production) return;
  throw new DomainError(
    'directory_insecure',
    parsed.protocol === 'ldap:'
      ? 'Plain ldap:// is refused in production mode; use ldaps:// with the domain CA'
      : 'The directory URL must use ldaps://',
    { field: 'directory.url' },
  );
}
