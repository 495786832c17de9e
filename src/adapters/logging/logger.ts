// Structured logs with pino; anything that may carry a secret is redacted before it is written.
import { pino, type Logger } from 'pino';

export const redactedPaths = [
  'password',
  '*.password',
  'bindPassword',
  '*.bindPassword',
  '*.*.bindPassword',
  'code',
  '*.code',
  'secret',
  '*.secret',
  'mfaToken',
  '*.mfaToken',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'masterKey',
  '*.masterKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: redactedPaths, censor: '[redacted]' }, base: { service: 'stint' } },
    destination as pino.DestinationStream | undefined,
  );
}

export type { Logger };
