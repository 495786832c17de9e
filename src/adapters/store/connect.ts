// Opens the store named by `database.url`: `sqlite:<path>` (embedded default, node:sqlite in WAL
// mode) or `postgres://…` (high availability). Both run the same Kysely queries.
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations.ts';

export type StoreEngine = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<Database>;
  engine: StoreEngine;
  /** Where the SQLite file lives (null for PostgreSQL). */
  file: string | null;
}

type SqliteValue = null | number | bigint | string | Uint8Array;

const preparedStatementsKept = 256;

function toSqliteValue(value: unknown): SqliteValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  if (value === undefined) return null;
  return value as SqliteValue;
}

/** node:sqlite exposes almost the interface Kysely's SqliteDialect wants; this closes the gap. */
function nodeSqliteDatabase(file: string): SqliteDatabase {
  const database = new DatabaseSync(file);
  database.exec('PRAGMA journal_mode = WAL');
  database.exec('PRAGMA synchronous = NORMAL');
  database.exec('PRAGMA foreign_keys = ON');
  database.exec('PRAGMA busy_timeout = 10000');
  // Prepared statements are kept by their SQL (Kysely prepares every query it runs; preparing cost
  // more than running the small queries of a request). Bounded: lists of ids make many variants.
  const prepared = new Map<string, { statement: StatementSync; reader: boolean }>();
  return {
    close: () => {
      prepared.clear();
      database.close();
    },
    prepare(sql: string): SqliteStatement {
      let entry = prepared.get(sql);
      if (!entry) {
        const statement = database.prepare(sql);
        entry = { statement, reader: statement.columns().length > 0 };
        if (prepared.size >= preparedStatementsKept) prepared.delete(prepared.keys().next().value!);
        prepared.set(sql, entry);
      }
      const { statement, reader } = entry;
      return {
        reader,
        all: (parameters) => statement.all(...parameters.map(toSqliteValue)) as unknown[],
        run: (parameters) => statement.run(...parameters.map(toSqliteValue)),
        // A stream holds its statement open while other queries run: it gets a statement of its own.
        iterate: (parameters) => database.prepare(sql).iterate(...parameters.map(toSqliteValue)) as IterableIterator<unknown>,
      };
    },
  };
}

/** Writers take the lock at BEGIN, so a transaction never fails half-way on a lock upgrade. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: () => Promise<SqliteDatabase>;
  constructor(database: () => Promise<SqliteDatabase>) {
    super({ database });
    this.#database = database;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}

export function sqliteFileFromUrl(url: string, dataDir: string): string {
  const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
  if (path === ':memory:') return path;
  return isAbsolute(path) ? path : resolve(dataDir, path);
}

export interface OpenOptions {
  /** Shown in PostgreSQL's pg_stat_activity (which process holds which connection). */
  applicationName?: string;
  /** A connection the server ended (a restart, a failover, an idle timeout); the pool replaces it. */
  onConnectionError?: (error: Error) => void;
}

export function openDatabase(url: string, dataDir: string, options: OpenOptions = {}): OpenedDatabase {
  if (url.startsWith('sqlite:')) {
    const file = sqliteFileFromUrl(url, dataDir);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const db = new Kysely<Database>({
      dialect: new ImmediateSqliteDialect(async () => nodeSqliteDatabase(file)),
    });
    return { db, engine: 'sqlite', file };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      // A server that is down answers at once (refused); one that does not answer at all fails the
      // request after this long instead of holding it (docs/operations.md, "Outages").
      connectionTimeoutMillis: 5000,
      keepAlive: true,
      application_name: options.applicationName ?? 'stint',
      // int8 columns hold millisecond timestamps and sequence numbers, all below 2^53.
      types: {
        getTypeParser: (oid: number, format?: string) =>
          oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text'),
      },
    });
    // pg emits 'error' on a client whose connection the server ends — idle in the pool, or checked
    // out between two queries — and an 'error' event nobody hears ends the process. Heard here, the
    // client is dropped (pg-pool removes it, idle or on release), the query in flight fails
    // (translated to store_unavailable, errors.ts) and the next one opens a fresh connection.
    const heard = (error: Error) => options.onConnectionError?.(error);
    pool.on('error', heard);
    pool.on('connect', (client) => client.on('error', heard));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, engine: 'postgres', file: null };
  }
  throw new Error('database.url must start with sqlite: or postgres://');
}

export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
