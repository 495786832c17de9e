// A TLS server of an attacker's choosing, on loopback with its own self-signed certificate: it
// records every connection and every byte sent to it (an LDAP bind request carries the password in
// clear inside TLS), so a test can prove that Stint sent it nothing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';

export interface BindTrap {
  url: string;
  caCertificate: string;
  connections(): number;
  received(): Buffer;
  close(): Promise<void>;
}

export async function startBindTrap(): Promise<BindTrap> {
  const dir = mkdtempSync(join(tmpdir(), 'stint-trap-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    let connections = 0;
    const chunks: Buffer[] = [];
    const sockets = new Set<TLSSocket>();
    const server = createServer({ key, cert }, (socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        socket.destroy();
      });
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return {
      url: `ldaps://127.0.0.1:${port}`,
      caCertificate: cert,
      connections: () => connections,
      received: () => Buffer.concat(chunks),
      async close() {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
