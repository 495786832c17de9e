// The Store port over Kysely: the same repository code for SQLite and PostgreSQL.
import { sql, type Kysely } from 'kysely';
import type { Store, StoreRepositories } from '../../services/ports.ts';
import type { Database } from './schema.ts';
import { tenantAccountRepository } from './accounts.ts';
import { auditRepository } from './audit.ts';
import { driftReportRepository } from './drift-reports.ts';
import { elevationRepository } from './elevations.ts';
import { profileRepository } from './profiles.ts';
import { reviewRepository } from './reviews.ts';
import { sessionRepository } from './sessions.ts';
import { siemCursorRepository } from './siem-cursors.ts';
import { signingKeyRepository } from './signing-keys.ts';
import { technicianRepository } from './technicians.ts';
import { tenantRepository } from './tenants.ts';

export { openDatabase, migrateToLatest, type OpenedDatabase, type StoreEngine } from './connect.ts';

function repositories(db: Kysely<Database>): StoreRepositories {
  return {
    technicians: technicianRepository(db),
    sessions: sessionRepository(db),
    tenants: tenantRepository(db),
    audit: auditRepository(db),
    signingKeys: signingKeyRepository(db),
    auditKeys: signingKeyRepository(db, 'audit_signing_keys'),
    accounts: tenantAccountRepository(db),
    profiles: profileRepository(db),
    elevations: elevationRepository(db),
    siemCursors: siemCursorRepository(db),
    driftReports: driftReportRepository(db),
    reviews: reviewRepository(db),
  };
}

export function createStore(db: Kysely<Database>): Store {
  return {
    ...repositories(db),
    transaction: (work) => db.transaction().execute((trx) => work(repositories(trx))),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async probeAuditWritable() {
      const rollback = Symbol('rollback');
      await db
        .transaction()
        .execute(async (trx) => {
          await trx.updateTable('audit_head').set((eb) => ({ hash: eb.ref('hash') })).where('id', '=', 1).execute();
          throw rollback;
        })
        .catch((error: unknown) => {
          if (error !== rollback) throw error;
        });
    },
    async close() {
      await db.destroy();
    },
  };
}
