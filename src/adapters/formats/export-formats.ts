// The file formats of exports: NDJSON (one JSON object a line) and CSV (RFC 4180 via csv-stringify
// and csv-parse). An audit export must read back to exactly the values that were hashed, so its
// CSV keeps null and "" apart: null is an empty cell, "" a quoted empty cell ("").
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { isoTime, type AuditAction } from '../../domain/audit.ts';
import type { ExportFormat, ExportRecord } from '../../domain/audit-export.ts';
import type { DecodedRecord, ExportDecoder, ExportEncoder, TableEncoder } from '../../services/ports/audit.ts';

const auditColumns = [
  'record',
  'seq',
  'at',
  'actor',
  'action',
  'tenant_id',
  'target',
  'request_id',
  'source_ip',
  'details',
  'prev_hash',
  'hash',
  'to_seq',
  'jws',
] as const;

const csvLine = (values: unknown[], escapeFormulas = false) =>
  stringify([values], { record_delimiter: '\n', quoted_match: /^$/, escape_formulas: escapeFormulas });

function csvRow(r: ExportRecord): unknown[] {
  if (r.record === 'event') {
    return [
      'event',
      r.seq,
      isoTime(r.at),
      r.actor,
      r.action,
      r.tenantId,
      r.target,
      r.requestId,
      r.sourceIp,
      JSON.stringify(r.details),
      r.prevHash,
      r.hash,
      null,
      null,
    ];
  }
  if (r.record === 'omitted')
    return ['omitted', r.fromSeq, null, null, null, null, null, null, null, null, r.prevHash, r.lastHash, r.toSeq, null];
  return ['manifest', null, null, null, null, null, null, null, null, null, null, null, null, r.jws];
}

function ndjsonLine(r: ExportRecord): string {
  if (r.record === 'event') {
    // Field by field, in a fixed order: faster than spreading, and the same bytes every time.
    return `${JSON.stringify({
      record: 'event',
      seq: r.seq,
      at: isoTime(r.at),
      actor: r.actor,
      action: r.action,
      tenantId: r.tenantId,
      target: r.target,
      requestId: r.requestId,
      sourceIp: r.sourceIp,
      details: r.details,
      prevHash: r.prevHash,
      hash: r.hash,
    })}\n`;
  }
  return `${JSON.stringify(r)}\n`;
}

export function auditExportEncoder(format: ExportFormat): ExportEncoder {
  if (format === 'csv') {
    return {
      contentType: 'text/csv; charset=utf-8',
      extension: 'csv',
      preamble: () => csvLine([...auditColumns]),
      record: (r) => csvLine(csvRow(r)),
    };
  }
  return { contentType: 'application/x-ndjson', extension: 'ndjson', preamble: () => '', record: ndjsonLine };
}

class Malformed extends Error {}

const text = (v: unknown): string => {
  if (typeof v !== 'string') throw new Malformed('a text field is missing');
  return v;
};
const nullableText = (v: unknown): string | null => (v === null || v === undefined ? null : text(v));
const integer = (v: unknown): number => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Malformed('a sequence number is missing or not an integer');
  return n;
};
const instant = (v: unknown): Date => {
  const d = new Date(text(v));
  if (Number.isNaN(d.getTime())) throw new Malformed('a time is not valid');
  return d;
};
const object = (v: unknown): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Malformed('details are not an object');
  return v as Record<string, unknown>;
};

/** Builds a record from named fields (NDJSON keys or CSV columns mapped to them). */
function toRecord(f: Record<string, unknown>): ExportRecord {
  switch (f.record) {
    case 'event': {
      const at = instant(f.at);
      // A time that does not print back the same would hash differently; keep the text's meaning exact.
      if (isoTime(at) !== f.at) throw new Malformed('a time is not in the exported form');
      return {
        record: 'event',
        seq: integer(f.seq),
        at,
        actor: text(f.actor),
        action: text(f.action) as AuditAction,
        tenantId: nullableText(f.tenantId),
        target: nullableText(f.target),
        requestId: nullableText(f.requestId),
        sourceIp: nullableText(f.sourceIp),
        details: object(f.details),
        prevHash: text(f.prevHash),
        hash: text(f.hash),
      };
    }
    case 'omitted':
      return {
        record: 'omitted',
        fromSeq: integer(f.fromSeq),
        toSeq: integer(f.toSeq),
        prevHash: text(f.prevHash),
        lastHash: text(f.lastHash),
      };
    case 'manifest':
      return { record: 'manifest', jws: text(f.jws) };
    default:
      throw new Malformed(`unknown record type ${JSON.stringify(f.record)}`);
  }
}

function ndjsonLineRecord(raw: string, line: number): DecodedRecord | null {
  if (raw === '') return null;
  try {
    return { record: toRecord(JSON.parse(raw) as Record<string, unknown>), line };
  } catch (error) {
    return { malformed: error instanceof Malformed ? error.message : 'not a JSON line', line };
  }
}

function ndjsonDecoder(): ExportDecoder {
  return {
    async *records(lines) {
      let line = 0;
      for await (const raw of lines) {
        const item = ndjsonLineRecord(raw, ++line);
        if (item === null) continue;
        yield item;
        if ('malformed' in item) return;
      }
    },
    line: ndjsonLineRecord,
  };
}

function csvDecoder(): ExportDecoder {
  return {
    async *records(lines) {
      const parser = parse({
        cast: (value, context) => (value === '' && !context.quoting ? null : value),
        info: true,
        relax_column_count: false,
      });
      const source = Readable.from(
        (async function* () {
          for await (const line of lines) yield `${line}\n`;
        })(),
      );
      source.pipe(parser);
      source.on('error', (error) => parser.destroy(error));
      let line = 1;
      let header = true;
      const rows = (parser as AsyncIterable<{ record: Array<string | null>; info: { lines: number } }>)[Symbol.asyncIterator]();
      for (;;) {
        let next;
        try {
          next = await rows.next();
        } catch (error) {
          yield { malformed: `not valid CSV: ${(error as Error).message}`, line };
          return;
        }
        if (next.done) return;
        const { record: cells, info } = next.value;
        const start = line;
        line = info.lines + 1;
        if (header) {
          header = false;
          if (cells.join(',') !== auditColumns.join(',')) {
            yield { malformed: 'the CSV header is not an audit export’s', line: start };
            return;
          }
          continue;
        }
        let record: ExportRecord;
        try {
          record = toRecord(csvFields(cells));
        } catch (error) {
          if (!(error instanceof Malformed)) throw error;
          yield { malformed: error.message, line: start };
          return;
        }
        yield { record, line: start };
      }
    },
  };
}

function csvFields(cells: Array<string | null>): Record<string, unknown> {
  const c = Object.fromEntries(auditColumns.map((name, i) => [name, cells[i] ?? null])) as Record<
    (typeof auditColumns)[number],
    string | null
  >;
  if (c.record === 'event') {
    let details: unknown;
    try {
      details = JSON.parse(c.details ?? '');
    } catch {
      throw new Malformed('details are not JSON');
    }
    return {
      record: c.record,
      seq: c.seq,
      at: c.at,
      actor: c.actor,
      action: c.action,
      tenantId: c.tenant_id,
      target: c.target,
      requestId: c.request_id,
      sourceIp: c.source_ip,
      details,
      prevHash: c.prev_hash,
      hash: c.hash,
    };
  }
  if (c.record === 'omitted') return { record: c.record, fromSeq: c.seq, toSeq: c.to_seq, prevHash: c.prev_hash, lastHash: c.hash };
  return { record: c.record, jws: c.jws };
}

/** Reads an audit export back; a line that is not a record ends the reading with `malformed`. */
export function auditExportDecoder(format: ExportFormat): ExportDecoder {
  return format === 'csv' ? csvDecoder() : ndjsonDecoder();
}

/** Rows of a report (the elevation history). CSV cells that start like a formula are escaped for spreadsheets. */
export function tableEncoder(format: ExportFormat): TableEncoder {
  if (format === 'csv') {
    return {
      contentType: 'text/csv; charset=utf-8',
      preamble: (columns) => csvLine([...columns]),
      row: (columns, values) =>
        csvLine(
          columns.map((c) => {
            const v = values[c];
            return v instanceof Date ? v.toISOString() : Array.isArray(v) || (typeof v === 'object' && v !== null) ? JSON.stringify(v) : v;
          }),
          true,
        ),
    };
  }
  return {
    contentType: 'application/x-ndjson',
    preamble: () => '',
    row: (_columns, values) => `${JSON.stringify(values)}\n`,
  };
}
