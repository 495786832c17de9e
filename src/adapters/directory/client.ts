// Opens verified LDAPS connections with ldapts. TLS is always verified against the tenant's own
// CA certificate; a certificate that does not verify fails closed.
import { X509Certificate } from 'node:crypto';
import { Client } from 'ldapts';
import { DomainError } from '../../domain/errors.ts';

export interface LdapEndpoint {
  url: string;
  caCertificate: string;
}

export interface LdapClientOptions {
  timeoutMs: number;
}

export function assertPemCertificate(pem: string, field: string): void {
  try {
    new X509Certificate(pem);
  } catch {
    throw new DomainError('validation_failed', `${field} is not a PEM-encoded X.509 certificate`, { field });
  }
}

export function openLdapClient(endpoint: LdapEndpoint, options: LdapClientOptions): Client {
  return new Client({
    url: endpoint.url,
    timeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
    // Samba drops idle connections after 900 s; ldapts then reconnects unbound unless told to rebind.
    autoRebind: true,
    tlsOptions: { ca: [endpoint.caCertificate], minVersion: 'TLSv1.2' },
  });
}

export async function closeQuietly(client: Client): Promise<void> {
  try {
    await client.unbind();
  } catch {
    // The connection is being dropped anyway.
  }
}
