// A private rsyslogd standing in for a SIEM: Debian's rsyslog, started by the test on loopback with
// its own configuration, pid file and work folder under .run/rsyslog/, never the system's service.
// It listens with imtcp in plain TCP and in TLS (the gnutls driver, with a throwaway CA and server
// certificate made here with openssl) and writes every message it receives, one per line, to a file
// per input. stop() and start() again let a test take the SIEM down and bring it back.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './processes.ts';
import { repoRoot } from './services.ts';

const runDir = process.env.STINT_RUN_DIR ?? `${repoRoot}.run`;

export interface PrivateRsyslog {
  tcpPort: number;
  tlsPort: number;
  /** The CA that signed the TLS input's certificate (for a target's caFile). */
  caFile: string;
  /** Lines received so far on each input. */
  lines(input: 'tcp' | 'tls'): string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

function installed(): boolean {
  const has = (pkg: string) => {
    try {
      return execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).includes('ok installed');
    } catch {
      return false;
    }
  };
  return has('rsyslog') && has('rsyslog-gnutls') && has('openssl');
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

function openssl(dir: string, args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A throwaway CA and a server certificate for 127.0.0.1 and localhost, valid two days. */
function makeCertificates(dir: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Stint test SIEM CA']);
  openssl(dir, ['req', ...ec, '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.cnf',
  ]);
}

export async function startRsyslog(): Promise<PrivateRsyslog> {
  if (!installed()) execFileSync('bash', [`${repoRoot}scripts/install-deps.sh`, '--test'], { stdio: 'inherit' });
  const dir = join(runDir, 'rsyslog', randomBytes(5).toString('hex'));
  mkdirSync(join(dir, 'work'), { recursive: true, mode: 0o700 });
  makeCertificates(dir);
  const [tcpPort, tlsPort] = [await freePort(), await freePort()];
  const out = (input: string) => join(dir, `${input}.log`);
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    `# Written by test/support/rsyslog.ts for one test file; loopback only.
global(workDirectory="${dir}/work" maxMessageSize="256k"
       defaultNetstreamDriverCAFile="${dir}/ca.pem" defaultNetstreamDriverCertFile="${dir}/server.pem" defaultNetstreamDriverKeyFile="${dir}/server-key.pem")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="tcp") { action(type="omfile" file="${out('tcp')}" template="raw") }
ruleset(name="tls") { action(type="omfile" file="${out('tls')}" template="raw") }
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="${tlsPort}" ruleset="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
`,
  );
  let child: ChildProcess | null = null;
  let output = '';

  const rsyslog: PrivateRsyslog = {
    tcpPort,
    tlsPort,
    caFile: join(dir, 'ca.pem'),
    lines(input) {
      const file = out(input);
      return existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
        : [];
    },
    async start() {
      if (child) return;
      output = '';
      const started = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
      started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child = started;
      const deadline = Date.now() + 15_000;
      while (!((await listening(tcpPort)) && (await listening(tlsPort)))) {
        if (started.exitCode !== null || Date.now() > deadline) {
          child = null;
          started.kill('SIGKILL');
          throw new Error(`rsyslogd did not start listening on ${tcpPort}/${tlsPort}: ${output}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
        running.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        running.kill('SIGTERM');
      });
    },
    async close() {
      await rsyslog.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await rsyslog.start();
  return rsyslog;
}
