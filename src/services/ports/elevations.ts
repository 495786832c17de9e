// The store's elevations and the queue's revocation jobs.
import type { Decision } from '../../domain/approval.ts';
import type { ActivationSteps, Elevation } from '../../domain/elevation.ts';
import type { ElevationState } from '../../domain/elevation-state.ts';
import type { PastRequest } from '../../domain/risk.ts';

export interface ElevationFilter {
  states?: ElevationState[];
  tenantIds?: string[];
  technicianId?: string;
  /** Any of these technicians (for the few whose grants are ending, rather than a whole tenant). */
  technicianIds?: string[];
  endsBefore?: Date;
  limit?: number;
}

/** One page of the elevation history, oldest request first, after a keyset cursor. */
export interface ElevationHistoryQuery {
  from?: Date;
  to?: Date;
  tenantId?: string;
  technicianId?: string;
  after: { requestedAt: Date; id: string } | null;
  limit: number;
}

export interface ElevationRepository {
  /** The history export's pages (keyset paging: constant memory however long the history). */
  history(query: ElevationHistoryQuery): Promise<Elevation[]>;
  insert(elevation: Elevation): Promise<void>;
  findById(id: string): Promise<Elevation | null>;
  list(filter: ElevationFilter): Promise<Elevation[]>;
  /**
   * Moves to `to` only from `from` (optimistic); false when another process moved it first. Only the
   * state machine's transitions (domain/elevation-state.ts): any other move is refused (`conflict`)
   * before the store is asked.
   */
  transition(
    id: string,
    from: ElevationState,
    to: ElevationState,
    changes: Partial<
      Pick<
        Elevation,
        | 'activatedAt'
        | 'endsAt'
        | 'endedAt'
        | 'revocationReason'
        | 'failureReason'
        | 'steps'
        | 'windowClosesAt'
        | 'extension'
        | 'extendedSeconds'
        | 'lease'
      >
    >,
    at: Date,
    /** Only while this holder holds the activation's lease. Leaving `activating` clears the lease. */
    leaseHolder?: string,
  ): Promise<boolean>;
  /**
   * Changes an elevation that is still in `state`, without moving it (an active grant's end, its
   * pending extension); false when it has left `state`.
   */
  amend(
    id: string,
    state: ElevationState,
    changes: Partial<Pick<Elevation, 'endsAt' | 'windowClosesAt' | 'extension' | 'extendedSeconds'>>,
    at: Date,
  ): Promise<boolean>;
  /**
   * Locks the row of an elevation still in `state` until the transaction ends (concurrent lockers
   * wait, then find what the first one wrote), marking it updated at `at`; false when it has left `state`.
   */
  lock(id: string, state: ElevationState, at: Date): Promise<boolean>;
  /** Extends the lease to `until` while `holder` holds it and the elevation is still `activating`; false otherwise. */
  renewLease(id: string, holder: string, until: Date): Promise<boolean>;
  /**
   * Takes the lease of an `activating` elevation whose lease ended by `lapsedBy` (or, with no lease
   * recorded, that was last touched before `staleBefore`); false when it was renewed or moved meanwhile.
   */
  takeLease(id: string, holder: string, until: Date, lapsedBy: Date, staleBefore: Date): Promise<boolean>;
  /** Records an approver's decision; false when that approver already decided in that round. */
  addDecision(elevationId: string, decision: Decision): Promise<boolean>;
  /** Requests still waiting for approval at `at` whose deadline has passed, and active grants whose extension request has. */
  approvalsPastDeadline(at: Date): Promise<Elevation[]>;
  /** Moves each of `ids` still in `from` (and, with `endsBy`, ending by then); answers the ids moved. A transition of the state machine only, as `transition`. */
  transitionMany(
    ids: readonly string[],
    from: ElevationState,
    to: ElevationState,
    changes: Partial<Pick<Elevation, 'endedAt' | 'revocationReason'>>,
    at: Date,
    endsBy?: Date,
  ): Promise<string[]>;
  recordSteps(id: string, steps: ActivationSteps, at: Date): Promise<void>;
  /** The account was found under a new DN (moved or renamed). */
  updateAccountDn(id: string, dn: string, at: Date): Promise<void>;
  markOverdueAlerted(id: string, at: Date): Promise<void>;
  /** Other elevations of this technician in this tenant that hold (or may hold) membership. */
  holding(tenantId: string, technicianId: string, exceptId: string): Promise<Elevation[]>;
  countByState(): Promise<Record<string, number>>;
  countForTenant(tenantId: string): Promise<number>;
  /** The technician's requests made at or after `since` (oldest first, at most `limit`): what risk scoring learns from. */
  requestHistory(technicianId: string, since: Date, limit: number): Promise<PastRequest[]>;
  /** Tenants the technician was ever granted an elevation in. */
  elevatedTenants(technicianId: string): Promise<string[]>;
  /** Seconds from end to revocation for grants that expired since `since`. */
  revocationLags(since: Date): Promise<number[]>;
}

export interface RevocationJobs {
  /**
   * One job per elevation (its id is derived from the elevation's), ready `revocationLeadMs` before
   * `at`; scheduling twice is harmless.
   */
  schedule(elevationId: string, at: Date): Promise<void>;
  isScheduled(elevationId: string): Promise<boolean>;
  cancel(elevationId: string): Promise<void>;
}
