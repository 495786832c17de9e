// The elevation history report an MSP hands a client's auditor (issue 6, item 7): one row per
// elevation, streamed page by page (keyset on request time and id), the export itself audited.
import type { ExportFormat } from '../../domain/audit-export.ts';
import type { Elevation } from '../../domain/elevation.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Clock } from '../ports/runtime.ts';
import type { Store } from '../ports/store.ts';
import type { TableEncoder } from '../ports/audit.ts';
import type { StreamedExport } from '../audit/index.ts';

export interface ElevationHistoryFilter {
  from?: Date;
  to?: Date;
  tenantId?: string;
  technicianId?: string;
}

export const elevationHistoryColumns = [
  'id',
  'requested_at',
  'requester',
  'requester_id',
  'tenant',
  'profile',
  'groups',
  'duration_seconds',
  'justification',
  'ticket',
  'state',
  'approvals_required',
  'decisions',
  'activated_at',
  'ends_at',
  'ended_at',
  'end_reason',
  'extended_seconds',
  'risk_score',
  'risk_reasons',
] as const;

/** Why it ended, in one word: the revocation reason, or the state it ended in before activation. */
function endReason(e: Elevation): string | null {
  if (e.revocationReason) return e.revocationReason;
  if (e.state === 'failed') return e.failureReason ? `failed: ${e.failureReason}` : 'failed';
  if (e.state === 'denied' || e.state === 'cancelled') return e.state;
  return null;
}

/** The elevation history report: one row per elevation. */
export interface ElevationHistory {
  /** Audited before the first row (fail closed); then streamed. */
  export(filter: ElevationHistoryFilter, format: ExportFormat, actor: string, ctx: RequestContext): Promise<StreamedExport>;
}

interface HistoryDeps {
  store: Pick<Store, 'technicians' | 'elevations' | 'transaction'>;
  clock: Clock;
  encoder(format: ExportFormat): TableEncoder;
  pageSize?: number;
}

export function createElevationHistory(deps: HistoryDeps): ElevationHistory {
  return { export: (filter, format, actor, ctx) => exportHistory(deps, filter, format, actor, ctx) };
}

async function exportHistory(
  deps: HistoryDeps,
  filter: ElevationHistoryFilter,
  format: ExportFormat,
  actor: string,
  ctx: RequestContext,
): Promise<StreamedExport> {
  const now = deps.clock.now();
  await deps.store.transaction((tx) =>
    tx.audit.append(
      {
        actor,
        action: 'elevation.history_exported',
        tenantId: filter.tenantId ?? null,
        details: {
          format,
          from: filter.from?.toISOString() ?? null,
          to: filter.to?.toISOString() ?? null,
          tenantId: filter.tenantId ?? null,
          technicianId: filter.technicianId ?? null,
        },
        ...auditOrigin(ctx),
      },
      now,
    ),
  );
  const encoder = deps.encoder(format);
  return { contentType: encoder.contentType, filename: `stint-elevations.${format}`, lines: lines(deps, filter, format) };
}

async function* lines(deps: HistoryDeps, filter: ElevationHistoryFilter, format: ExportFormat): AsyncGenerator<string> {
  const encoder = deps.encoder(format);
  // Technicians are few next to elevations; their names are looked up once.
  const names = new Map((await deps.store.technicians.list()).map((t) => [t.id, t.username]));
  const name = (id: string) => names.get(id) ?? id;
  const preamble = encoder.preamble(elevationHistoryColumns);
  if (preamble) yield preamble;
  let after: { requestedAt: Date; id: string } | null = null;
  for (;;) {
    const page = await deps.store.elevations.history({ ...filter, after, limit: deps.pageSize ?? 500 });
    if (page.length === 0) return;
    yield page.map((e) => encoder.row(elevationHistoryColumns, historyRow(e, format, name))).join('');
    const last = page[page.length - 1]!;
    after = { requestedAt: last.requestedAt, id: last.id };
  }
}

/** One elevation's row: lists joined with `; ` in CSV, kept as arrays of objects in NDJSON. */
function historyRow(e: Elevation, format: ExportFormat, name: (id: string) => string) {
  const csv = format === 'csv';
  const decisions = e.decisions.map((d) => ({
    round: d.round,
    approver: name(d.approverId),
    approverId: d.approverId,
    decision: d.decision,
    reason: d.reason,
    at: d.at.toISOString(),
  }));
  const decided = (d: (typeof decisions)[number]) =>
    `${d.approver} ${d.decision === 'approve' ? 'approved' : 'denied'}${d.round ? ` extension ${d.round}` : ''} at ${d.at}`;
  return {
    id: e.id,
    requested_at: e.requestedAt,
    requester: name(e.technicianId),
    requester_id: e.technicianId,
    tenant: e.tenantId,
    profile: e.profileName,
    groups: csv ? e.groups.map((g) => g.name).join('; ') : e.groups.map((g) => ({ name: g.name, dn: g.dn })),
    duration_seconds: e.durationSeconds,
    justification: e.justification,
    ticket: e.ticket,
    state: e.state,
    approvals_required: e.approvalsRequired,
    decisions: csv ? decisions.map(decided).join('; ') : decisions,
    activated_at: e.activatedAt,
    ends_at: e.endsAt,
    ended_at: e.endedAt,
    end_reason: endReason(e),
    extended_seconds: e.extendedSeconds,
    risk_score: e.risk?.score ?? null,
    risk_reasons: e.risk ? (csv ? e.risk.reasons.map((r) => `${r.signal} +${r.points}: ${r.detail}`).join('; ') : e.risk.reasons) : null,
  };
}
