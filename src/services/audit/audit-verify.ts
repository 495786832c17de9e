// `stint audit verify`: checks an exported file offline, with nothing but the audit public keys.
// Reads the file once, line by line (constant memory), walks the chain record by record, then
// checks the manifest's signature, what it says against what was read, and its checkpoint.
import {
  checkpointMismatch,
  checkpointType,
  manifestMismatch,
  manifestType,
  type BadRecord,
  type Checkpoint,
  type ChunkJoin,
  type ExportFormat,
  type ExportManifest,
} from '../../domain/audit-export.ts';
import { DomainError } from '../../domain/errors.ts';
import type { AuditSignatureVerifier, ExportDecoder, LineChunkChecker } from '../ports/audit.ts';
import type { Hashing } from '../ports/crypto.ts';
import {
  defaultChunkBytes,
  inlineLineChunkChecker,
  joinLineChunks,
  walkRecords,
  wholeLineChunks,
  type ExportBytes,
  type LineChunks,
} from './audit-verify-lines.ts';

export { inlineLineChunkChecker } from './audit-verify-lines.ts';

export type Jwks = { keys: Array<Record<string, unknown>> };

export type VerifyProblem = Omit<BadRecord, 'reason'> & {
  reason:
    | BadRecord['reason']
    | 'manifest_missing'
    | 'unknown_key'
    | 'bad_signature'
    | 'manifest_invalid'
    | 'manifest_mismatch'
    | 'truncated'
    | 'checkpoint_invalid';
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

export interface ExportVerifierDeps {
  signatures: AuditSignatureVerifier;
  /** The SHA-256 of the bytes before the manifest, which its contentDigest covers. */
  hashing: Hashing;
  decoder(format: ExportFormat): ExportDecoder;
  /** Checks NDJSON chunks elsewhere (other threads); by default on this one. */
  lineChunks?: () => LineChunkChecker;
  /** The size of the chunks of lines checked on their own (tests use tiny ones). */
  chunkBytes?: number;
}

/** Checks an export offline. */
export interface ExportVerifier {
  /** Detects the format from the first line: `{` for NDJSON, the CSV header otherwise. */
  verify(chunks: ExportBytes, jwks: Jwks): Promise<VerifyReport>;
}

export function createExportVerifier(deps: ExportVerifierDeps): ExportVerifier {
  return { verify: (chunks, jwks) => verify(deps, chunks, jwks) };
}

type Fail = (problem: VerifyProblem) => VerifyReport;

async function verify(deps: ExportVerifierDeps, chunks: ExportBytes, jwks: Jwks): Promise<VerifyReport> {
  const source = wholeLineChunks(deps.hashing, chunks, deps.chunkBytes ?? defaultChunkBytes);
  const rest = source.chunks[Symbol.asyncIterator]();
  const first = await rest.next();
  if (first.done)
    return { ok: false, format: null, problem: { line: 1, seq: null, reason: 'manifest_missing', message: 'the file is empty' } };
  const format: ExportFormat = first.value[0] === 0x7b ? 'ndjson' : 'csv';
  const fail: Fail = (problem) => {
    rest.return(undefined).catch(() => undefined); // stop reading (closes a file stream)
    return { ok: false, format, problem };
  };
  const read = await readRecords(deps, format, { first, rest }, fail);
  if ('ok' in read) return read;
  return checkManifest(deps, { join: read, format, jwks, digest: source.digest }, fail);
}

/** Every record before the manifest, walked in file order; the first bad one fails the file. */
async function readRecords(
  deps: ExportVerifierDeps,
  format: ExportFormat,
  input: LineChunks,
  fail: Fail,
): Promise<ChunkJoin | VerifyReport> {
  const decoder = deps.decoder(format);
  if (format === 'ndjson' && decoder.line) {
    const checker = deps.lineChunks?.() ?? inlineLineChunkChecker(decoder.line);
    try {
      const read = await joinLineChunks(checker, input);
      return 'problem' in read ? fail(read.problem) : read.join;
    } finally {
      await checker.close();
    }
  }
  const read = await walkRecords(decoder, input);
  return 'problem' in read ? fail(read.problem) : read.join;
}

const isProblem = (value: object): value is VerifyProblem => 'reason' in value;

async function checkSignature(
  deps: ExportVerifierDeps,
  jws: string,
  type: string,
  jwks: Jwks,
  line: number,
): Promise<{ payload: unknown; kid: string } | VerifyProblem> {
  try {
    return await deps.signatures.verify(jws, type, jwks);
  } catch (error) {
    if (!(error instanceof DomainError) || error.code !== 'signature_invalid') throw error;
    const why = error.details?.reason;
    return {
      line,
      seq: null,
      reason: why === 'unknown_key' ? 'unknown_key' : why === 'bad_signature' ? 'bad_signature' : 'manifest_invalid',
      message: error.message,
    };
  }
}

/** The manifest: present, signed, an export manifest of this format, and saying what was read. */
async function checkManifest(
  deps: ExportVerifierDeps,
  read: { join: ChunkJoin; format: ExportFormat; jwks: Jwks; digest: () => string },
  fail: Fail,
): Promise<VerifyReport> {
  const { join, format, jwks } = read;
  const state = join.walk;
  const manifestRecord = join.manifest;
  if (!manifestRecord) {
    const after = state.lastSeq === null ? 'before any record' : `after seq ${state.lastSeq}`;
    return fail({
      line: join.lines + 1,
      seq: state.lastSeq === null ? null : state.lastSeq + 1,
      reason: 'manifest_missing',
      message: `the file ends ${after} without its signed manifest: truncated, or not a Stint export`,
    });
  }
  const line = manifestRecord.line;
  const signed = await checkSignature(deps, manifestRecord.jws, manifestType, jwks, line);
  if (isProblem(signed)) return fail(signed);
  const manifest = signed.payload as ExportManifest;
  if (manifest?.kind !== 'stint.audit.export' || manifest.version !== 1)
    return fail({ line, seq: null, reason: 'manifest_invalid', message: 'the signed payload is not an export manifest' });
  if (manifest.format !== format)
    return fail({ line, seq: null, reason: 'manifest_mismatch', message: `the manifest is for ${manifest.format}, the file is ${format}` });
  const mismatch = manifestMismatch(state, manifest, read.digest());
  if (mismatch) {
    const truncated = state.lastSeq !== null && state.lastSeq < manifest.toSeq && manifest.events + manifest.omitted > 0;
    return fail({
      line,
      seq: truncated ? state.lastSeq! + 1 : null,
      reason: truncated ? 'truncated' : 'manifest_mismatch',
      message: mismatch,
    });
  }
  const checkpoint = manifest.checkpoint ? await checkCheckpoint(deps, manifest, jwks, line) : null;
  if (checkpoint && isProblem(checkpoint)) return fail(checkpoint);
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
}

/** The checkpoint the manifest carries: signed, a checkpoint, and covering the export's range. */
async function checkCheckpoint(
  deps: ExportVerifierDeps,
  manifest: ExportManifest,
  jwks: Jwks,
  line: number,
): Promise<{ seq: number; at: string; kid: string } | VerifyProblem> {
  const cp = await checkSignature(deps, manifest.checkpoint!, checkpointType, jwks, line);
  if (isProblem(cp)) return { ...cp, reason: 'checkpoint_invalid', message: `checkpoint: ${cp.message}` };
  const payload = cp.payload as Checkpoint;
  const wrong =
    payload?.kind !== 'stint.audit.checkpoint' ? 'the signed payload is not a checkpoint' : checkpointMismatch(payload, manifest);
  if (wrong) return { line, seq: null, reason: 'checkpoint_invalid', message: wrong };
  return { seq: payload.seq, at: payload.at, kid: cp.kid };
}
