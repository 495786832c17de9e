// `stint audit verify`: checks an exported file offline, with nothing but the audit public keys.
// Reads the file once, line by line (constant memory), walks the chain record by record, then
// checks the manifest's signature, what it says against what was read, and its checkpoint.
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import {
  checkpointMismatch,
  checkpointType,
  createChainWalk,
  manifestMismatch,
  manifestType,
  type BadRecord,
  type Checkpoint,
  type ExportFormat,
  type ExportManifest,
} from '../domain/audit-export.ts';
import { DomainError } from '../domain/errors.ts';
import type { AuditSignatureVerifier, ExportDecoder } from './ports.ts';

export type Jwks = { keys: Array<Record<string, unknown>> };

export type VerifyProblem = Omit<BadRecord, 'reason'> & {
  reason: BadRecord['reason'] | 'manifest_missing' | 'unknown_key' | 'bad_signature' | 'manifest_invalid' | 'manifest_mismatch' | 'truncated' | 'checkpoint_invalid';
};

export type VerifyReport =
  | {
      ok: true;
      format: ExportFormat;
      fromSeq: number;
      toSeq: number;
      events: number;
      omitted: number;
      kid: string;
      createdAt: string;
      filter: ExportManifest['filter'];
      checkpoint: { seq: number; at: string; kid: string } | null;
    }
  | { ok: false; format: ExportFormat | null; problem: VerifyProblem };

/**
 * Splits bytes into lines (without the newline) and hashes every byte before the last line, which
 * in an export is the manifest: the bytes its contentDigest covers.
 */
function linesWithDigest(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>) {
  const digest = createHash('sha256');
  let lastLine = 0;
  async function* lines(): AsyncGenerator<string> {
    const decoder = new StringDecoder('utf8');
    let pending: string | null = null;
    let rest = '';
    const emit = function* (line: string) {
      if (pending !== null) digest.update(`${pending}\n`);
      pending = line;
      lastLine++;
      yield line;
    };
    for await (const chunk of chunks) {
      rest += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let start = 0;
      for (let end = rest.indexOf('\n'); end !== -1; end = rest.indexOf('\n', start)) {
        yield* emit(rest.slice(start, end));
        start = end + 1;
      }
      rest = rest.slice(start);
    }
    rest += decoder.end();
    if (rest !== '') yield* emit(rest);
  }
  return { lines: lines(), digest: () => `sha256:${digest.digest('hex')}`, lastLine: () => lastLine };
}

export function createExportVerifier(deps: { signatures: AuditSignatureVerifier; decoder(format: ExportFormat): ExportDecoder }) {
  async function checkSignature(jws: string, type: string, jwks: Jwks, line: number): Promise<{ payload: unknown; kid: string } | VerifyProblem> {
    try {
      return await deps.signatures.verify(jws, type, jwks);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'signature_invalid') throw error;
      const why = error.details?.reason;
      return { line, seq: null, reason: why === 'unknown_key' ? 'unknown_key' : why === 'bad_signature' ? 'bad_signature' : 'manifest_invalid', message: error.message };
    }
  }
  const isProblem = (value: object): value is VerifyProblem => 'reason' in value;

  return {
    /** Detects the format from the first line: `{` for NDJSON, the CSV header otherwise. */
    async verify(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, jwks: Jwks): Promise<VerifyReport> {
      const source = linesWithDigest(chunks);
      const iterator = source.lines[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done) return { ok: false, format: null, problem: { line: 1, seq: null, reason: 'manifest_missing', message: 'the file is empty' } };
      const format: ExportFormat = first.value.startsWith('{') ? 'ndjson' : 'csv';
      const replayed = (async function* () {
        yield first.value;
        for (let n = await iterator.next(); !n.done; n = await iterator.next()) yield n.value;
      })();

      const walk = createChainWalk();
      let manifestRecord: { jws: string; line: number } | null = null;
      const fail = (problem: VerifyProblem): VerifyReport => ({ ok: false, format, problem });
      for await (const item of deps.decoder(format).records(replayed)) {
        if ('malformed' in item) return fail({ line: item.line, seq: walk.state().lastSeq === null ? null : walk.state().lastSeq! + 1, reason: 'malformed', message: item.malformed });
        if (manifestRecord) return fail({ line: item.line, seq: null, reason: 'record_after_manifest', message: 'a record after the manifest' });
        if (item.record.record === 'manifest') {
          manifestRecord = { jws: item.record.jws, line: item.line };
          continue;
        }
        const bad = walk.step(item.record, item.line);
        if (bad) return fail(bad);
      }
      const state = walk.state();
      if (!manifestRecord) {
        const after = state.lastSeq === null ? 'before any record' : `after seq ${state.lastSeq}`;
        return fail({ line: source.lastLine() + 1, seq: state.lastSeq === null ? null : state.lastSeq + 1, reason: 'manifest_missing', message: `the file ends ${after} without its signed manifest: truncated, or not a Stint export` });
      }
      const signed = await checkSignature(manifestRecord.jws, manifestType, jwks, manifestRecord.line);
      if (isProblem(signed)) return fail(signed);
      const manifest = signed.payload as ExportManifest;
      if (manifest?.kind !== 'stint.audit.export' || manifest.version !== 1) return fail({ line: manifestRecord.line, seq: null, reason: 'manifest_invalid', message: 'the signed payload is not an export manifest' });
      if (manifest.format !== format) return fail({ line: manifestRecord.line, seq: null, reason: 'manifest_mismatch', message: `the manifest is for ${manifest.format}, the file is ${format}` });
      const mismatch = manifestMismatch(state, manifest, source.digest());
      if (mismatch) {
        const truncated = state.lastSeq !== null && state.lastSeq < manifest.toSeq && manifest.events + manifest.omitted > 0;
        return fail({
          line: manifestRecord.line,
          seq: truncated ? state.lastSeq! + 1 : null,
          reason: truncated ? 'truncated' : 'manifest_mismatch',
          message: mismatch,
        });
      }
      let checkpoint: { seq: number; at: string; kid: string } | null = null;
      if (manifest.checkpoint) {
        const cp = await checkSignature(manifest.checkpoint, checkpointType, jwks, manifestRecord.line);
        if (isProblem(cp)) return fail({ ...cp, reason: 'checkpoint_invalid', message: `checkpoint: ${cp.message}` });
        const payload = cp.payload as Checkpoint;
        const wrong = payload?.kind !== 'stint.audit.checkpoint' ? 'the signed payload is not a checkpoint' : checkpointMismatch(payload, manifest);
        if (wrong) return fail({ line: manifestRecord.line, seq: null, reason: 'checkpoint_invalid', message: wrong });
        checkpoint = { seq: payload.seq, at: payload.at, kid: cp.kid };
      }
      return {
        ok: true,
        format,
        fromSeq: manifest.fromSeq,
        toSeq: manifest.toSeq,
        events: manifest.events,
        omitted: manifest.omitted,
        kid: signed.kid,
        createdAt: manifest.createdAt,
        filter: manifest.filter,
        checkpoint,
      };
    },
  };
}
