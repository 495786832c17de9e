// The Store port over Kysely: the same repository code for SQLite and PostgreSQL.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type { Store, StoreRepositories } from '../../services/ports/store.ts';
import type { Database } from './schema.ts';
import { translateStoreError, translatingErrors } from './errors.ts';
import { tenantAccountRepository } from './accounts.ts';
import { auditRepository } from './audit.ts';
import { driftReportRepository } from './drift-reports.ts';
import { elevationRepository } from './elevations.ts';
import { profileRepository } from './profiles.ts';
import { tenantProtectedGroupRepository } from './protected-groups.ts';
import { reviewRepository } from './reviews.ts';
import { sessionRepository } from './sessions.ts';
import { siemCursorRepository } from './siem-cursors.ts';
import { signingKeyRepository } from './signing-keys.ts';
import { technicianRepository } from './technicians.ts';
import { tenantRepository } from './tenants.ts';

export { openDatabase, migrateToLatest, type OpenedDatabase, type StoreEngine } from './connect.ts';

function repositories(db: Kysely<Database>): StoreRepositories {
  const all: StoreRepositories = {
    technicians: technicianRepository(db),
    sessions: sessionRepository(db),
    tenants: tenantRepository(db),
    audit: auditRepository(db),
    signingKeys: signingKeyRepository(db),
    auditKeys: signingKeyRepository(db, 'audit_signing_keys'),
    accounts: tenantAccountRepository(db),
    protectedGroups: tenantProtectedGroupRepository(db),
    profiles: profileRepository(db),
    elevations: elevationRepository(db),
    siemCursors: siemCursorRepository(db),
    driftReports: driftReportRepository(db),
    reviews: reviewRepository(db),
  };
  // Constraint violations and values the engine cannot hold become Stint's codes here (errors.ts).
  return Object.fromEntries(
    Object.entries(all).map(([name, repository]) => [name, translatingErrors(repository)]),
  ) as unknown as StoreRepositories;
}

export function createStore(db: Kysely<Database>): Store {
  return {
    ...repositories(db),
    transaction: (work) =>
      db
        .transaction()
        .execute((trx) => work(repositories(trx)))
        .catch((error: unknown) => {
          throw translateStoreError(error);
        }),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async probeWritable() {
      // Read-only questions, no lock: /readyz asks them of every replica every few seconds.
      if (db.getExecutor().adapter instanceof PostgresAdapter) {
        const { rows } = await sql<{
          standby: boolean;
          readOnly: string;
        }>`select pg_is_in_recovery() as standby, current_setting('transaction_read_only') as "readOnly"`.execute(db);
        if (rows[0]?.standby || rows[0]?.readOnly === 'on')
          throw new Error('the database is read-only (a standby, or default_transaction_read_only)');
        return;
      }
      const { rows } = await sql<{ query_only: number }>`pragma query_only`.execute(db);
      if (rows[0]?.query_only) throw new Error('the database is in query-only mode');
      const file = (await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db)).rows[0]?.file;
      if (file) await access(file, constants.W_OK);
    },
    async close() {
      await db.destroy();
    },
  };
}
