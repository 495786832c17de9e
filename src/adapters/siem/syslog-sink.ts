// A SIEM target reached by syslog over TCP or TLS (RFC 5425), octet-counted. One connection per
// target, kept open between runs; a write counts once Node has flushed it to the operating system.
import { readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { AuditEvent } from '../../domain/audit.ts';
import type { Clock } from '../../services/ports/runtime.ts';
import type { SiemSink } from '../../services/ports/siem.ts';
import { octetCountedFrame, syslogMessage, type SiemBodyFormat, type SyslogIdentity } from './format.ts';

export interface SyslogTarget {
  name: string;
  host: string;
  port: number;
  protocol: 'tcp' | 'tls';
  /** PEM file of the CA that signed the target's certificate (TLS; default: the system's CAs). */
  caFile?: string;
  format: SiemBodyFormat;
}

export interface SyslogSinkOptions {
  identity: SyslogIdentity;
  clock: Clock;
  connectTimeoutMs: number;
  /** A write not flushed within this time (the target stopped reading) fails and drops the connection. */
  writeTimeoutMs: number;
}

export function createSyslogSink(target: SyslogTarget, options: SyslogSinkOptions): SiemSink {
  let socket: Socket | null = null;
  /** When the far end closed, or an error ended, the last connection. */
  let lostAt: Date | null = null;
  const ours = new WeakSet<Socket>();

  function connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s =
        target.protocol === 'tls'
          ? // The CA file is read at each connection, so a renewed file is picked up without a restart.
            connectTls({
              host: target.host,
              port: target.port,
              ca: target.caFile ? readFileSync(target.caFile) : undefined,
              minVersion: 'TLSv1.2',
            })
          : connectTcp({ host: target.host, port: target.port });
      const timer = setTimeout(
        () => s.destroy(new Error(`connecting to ${target.host}:${target.port} timed out`)),
        options.connectTimeoutMs,
      );
      s.once(target.protocol === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', reject);
        s.setNoDelay(true);
        s.setKeepAlive(true, 30_000);
        // Errors after this show up as 'close'; without a listener they would crash the process.
        s.on('error', () => undefined);
        s.once('close', () => {
          if (socket === s) socket = null;
          if (!ours.has(s)) lostAt = options.clock.now();
        });
        resolve(s);
      });
      s.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  function write(s: Socket, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onClose = () => finish(new Error('the connection closed during the write'));
      const timer = setTimeout(() => {
        s.destroy();
        finish(new Error(`write to ${target.host}:${target.port} not flushed within ${options.writeTimeoutMs} ms`));
      }, options.writeTimeoutMs);
      s.once('close', onClose);
      s.write(data, (error) => finish(error));
    });
  }

  return {
    name: target.name,

    async open() {
      if (!socket || socket.destroyed || !socket.writable) socket = await connect();
      const lost = lostAt;
      lostAt = null;
      return { lostAt: lost };
    },

    async send(events: readonly AuditEvent[]) {
      const s = socket;
      if (!s || s.destroyed || !s.writable) throw new Error(`not connected to ${target.host}:${target.port}`);
      const frames = events.map((event) => octetCountedFrame(syslogMessage(event, target.format, options.identity)));
      await write(s, Buffer.concat(frames));
    },

    async close() {
      const s = socket;
      socket = null;
      if (!s || s.destroyed) return;
      ours.add(s);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => s.destroy(), 2000);
        s.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        s.end();
      });
    },
  };
}
