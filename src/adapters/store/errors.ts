// Store errors that are the caller's, translated into Stint's codes at the store's boundary: a
// unique or foreign-key constraint is a conflict (409), a check or not-null constraint or a value
// the engine cannot hold (PostgreSQL refuses NUL in text) is bad input (400). node:sqlite and pg
// report them differently. A store that cannot be reached is store_unavailable (503); every other
// error passes through unchanged.
import { DomainError } from '../../domain/errors.ts';
import { wrapMethods } from '../method-wrapping.ts';

const sqliteConstraint = 19;
const sqliteExtended = { unique: 2067, primaryKey: 1555, foreignKey: 787 } as const;

const camel = (column: string) => column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Column names only, never the values (a value may be a secret or personal data). */
function sqliteColumns(message: string): string[] {
  const listed = /constraint failed: (.+)$/.exec(message)?.[1] ?? '';
  return listed
    .split(',')
    .map((c) => c.trim().split('.').pop() ?? '')
    .filter((c) => /^[a-z_]+$/.test(c));
}

function pgColumns(detail: unknown, column: unknown): string[] {
  if (typeof column === 'string') return [column];
  const listed = typeof detail === 'string' ? /^Key \(([^)]+)\)=/.exec(detail)?.[1] : undefined;
  return (listed ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => /^[a-z_]+$/.test(c));
}

function conflict(columns: string[]): DomainError {
  const fields = columns.map(camel);
  return new DomainError(
    'conflict',
    fields.length ? `Another record already has this ${fields.join(', ')}` : 'This conflicts with another record',
    fields.length ? { fields } : undefined,
  );
}

function invalid(message: string, columns: string[] = []): DomainError {
  return new DomainError('validation_failed', message, columns.length ? { fields: columns.map(camel) } : undefined);
}

// The store is away (down, restarting, failing over, out of connections): the caller should try
// again, and is told so with a 503. Socket errors; SQLSTATE class 08 (connection exception), 57P01–03
// (shut down, crashed, starting up), 53300 (too many connections), 25006 (a read-only standby);
// pg's own messages for a connection that ended or never came; SQLite busy or locked past its
// busy timeout.
const socketErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const pgUnavailable = /^(08[0-9A-Z]{3}|57P0[123]|53300|25006)$/;
const pgConnectionMessages =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly)/;
const sqliteBusy = new Set([5, 6]);

function unavailable(error: unknown): DomainError {
  const translated = new DomainError('store_unavailable', 'The database cannot be reached; try again shortly');
  // Kept for the log (pino prints the cause); never sent to the client.
  Object.defineProperty(translated, 'cause', { value: error, enumerable: false });
  return translated;
}

export function isStoreUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown };
  if (typeof e.code === 'string' && (socketErrors.has(e.code) || ('severity' in error && pgUnavailable.test(e.code)))) return true;
  if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' && sqliteBusy.has(e.errcode & 0xff)) return true;
  return typeof e.message === 'string' && pgConnectionMessages.test(e.message);
}

export function translateStoreError(error: unknown): unknown {
  if (!error || typeof error !== 'object' || error instanceof DomainError) return error;
  if (isStoreUnavailable(error)) return unavailable(error);
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown; detail?: unknown; column?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' && (e.errcode & 0xff) === sqliteConstraint) {
    if (e.errcode === sqliteExtended.unique || e.errcode === sqliteExtended.primaryKey) return conflict(sqliteColumns(message));
    if (e.errcode === sqliteExtended.foreignKey)
      return new DomainError('conflict', 'This refers to a record that does not exist, or is still referred to');
    return invalid('A value is not allowed here', sqliteColumns(message));
  }
  // pg: SQLSTATE class 23 is an integrity constraint, class 22 a value the column cannot hold.
  if (typeof e.code === 'string' && /^2[23][0-9A-Z]{3}$/.test(e.code) && 'severity' in error) {
    if (e.code === '23505') return conflict(pgColumns(e.detail, undefined));
    if (e.code === '23503') return new DomainError('conflict', 'This refers to a record that does not exist, or is still referred to');
    if (e.code.startsWith('23')) return invalid('A value is not allowed here', pgColumns(undefined, e.column));
    return invalid('A value cannot be stored (for example a NUL character, or a number out of range)');
  }
  return error;
}

/** The same repository, each method's rejection translated. */
export function translatingErrors<T extends object>(repository: T): T {
  return wrapMethods(repository, (method) => (...args) => {
    const result = method(...args);
    return result instanceof Promise
      ? result.catch((error: unknown) => {
          throw translateStoreError(error);
        })
      : result;
  });
}
