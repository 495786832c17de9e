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
import type { AuditSignatureVerifier, DecodedRecord, ExportDecoder } from './ports.ts';

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
 * Splits bytes into lines (without the newline), a chunk's worth at a time, and hashes every byte
 * before the last line, which in an export is the manifest: the bytes its contentDigest covers.
 * The digest is taken over the bytes as read (not over decoded text), a chunk's span at a time:
 * what is not yet hashed is the last complete line seen (`held`) and the unfinished line after it
 * (`tail`), since either may turn out to be the file's last line.
 */
function linesWithDigest(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>) {
  const digest = createHash('sha256');
  let held: Buffer[] = [];
  let tail: Buffer[] = [];
  let lastLine = 0;
  const hashAll = (parts: Buffer[]) => {
    for (const part of parts) digest.update(part);
  };
  function hashBytes(bytes: Buffer): void {
    const lastNewline = bytes.lastIndexOf(0x0a);
    if (lastNewline === -1) {
      if (bytes.length > 0) tail.push(bytes);
      return;
    }
    const newlineBefore = lastNewline === 0 ? -1 : bytes.lastIndexOf(0x0a, lastNewline - 1);
    hashAll(held);
    if (newlineBefore === -1) {
      // The line this chunk completes began in an earlier one: it is all of `tail` and more.
      held = [...tail, bytes.subarray(0, lastNewline + 1)];
    } else {
      hashAll(tail);
      digest.update(bytes.subarray(0, newlineBefore + 1));
      held = [bytes.subarray(newlineBefore + 1, lastNewline + 1)];
    }
    tail = lastNewline + 1 < bytes.length ? [bytes.subarray(lastNewline + 1)] : [];
  }
  async function* batches(): AsyncGenerator<string[]> {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for await (const chunk of chunks) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      hashBytes(bytes);
      rest += decoder.write(bytes);
      const lines: string[] = [];
      let start = 0;
      for (let end = rest.indexOf('\n'); end !== -1; end = rest.indexOf('\n', start)) {
        lines.push(rest.slice(start, end));
        start = end + 1;
      }
      rest = rest.slice(start);
      lastLine += lines.length;
      if (lines.length > 0) yield lines;
    }
    rest += decoder.end();
    if (rest !== '') {
      lastLine++;
      yield [rest];
    }
  }
  return {
    /** The lines, in the batches a chunk of input completes. */
    batches: batches(),
    /** Once the lines are all read: the digest of every byte before the last line. */
    digest: () => {
      if (tail.length > 0) hashAll(held);
      return `sha256:${digest.digest('hex')}`;
    },
    lastLine: () => lastLine,
  };
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
      const batches = source.batches[Symbol.asyncIterator]();
      const firstBatch = await batches.next();
      if (firstBatch.done) return { ok: false, format: null, problem: { line: 1, seq: null, reason: 'manifest_missing', message: 'the file is empty' } };
      const format: ExportFormat = firstBatch.value[0]!.startsWith('{') ? 'ndjson' : 'csv';

      const walk = createChainWalk();
      let manifestRecord = null as { jws: string; line: number } | null; // set inside check()
      const fail = (problem: VerifyProblem): VerifyReport => {
        batches.return(undefined).catch(() => undefined); // stop reading (closes a file stream)
        return { ok: false, format, problem };
      };
      /** One decoded record, in file order: a problem, or null to go on. */
      const check = (item: DecodedRecord): VerifyProblem | null => {
        if ('malformed' in item) return { line: item.line, seq: walk.state().lastSeq === null ? null : walk.state().lastSeq! + 1, reason: 'malformed', message: item.malformed };
        if (manifestRecord) return { line: item.line, seq: null, reason: 'record_after_manifest', message: 'a record after the manifest' };
        if (item.record.record === 'manifest') {
          manifestRecord = { jws: item.record.jws, line: item.line };
          return null;
        }
        return walk.step(item.record, item.line);
      };
      const decoder = deps.decoder(format);
      const decodeLine = decoder.line;
      if (decodeLine) {
        // One record a line: each batch of lines is checked synchronously, no promise per line.
        let line = 0;
        for (let batch: IteratorResult<string[]> = firstBatch; !batch.done; batch = await batches.next()) {
          for (const raw of batch.value) {
            const item = decodeLine(raw, ++line);
            if (item === null) continue;
            const bad = check(item);
            if (bad) return fail(bad);
          }
        }
      } else {
        const lines = (async function* () {
          for (let batch: IteratorResult<string[]> = firstBatch; !batch.done; batch = await batches.next()) yield* batch.value;
        })();
        for await (const item of decoder.records(lines)) {
          const bad = check(item);
          if (bad) return fail(bad);
        }
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
