// Reading an export for `stint audit verify`: its bytes cut into chunks of whole lines (hashed as
// read), and its records walked in file order, NDJSON chunk by chunk (possibly on other threads),
// CSV record by record.
import {
  checkLineChunk,
  createChainWalk,
  emptyJoin,
  joinChunk,
  type BadRecord,
  type ChunkJoin,
  type LineChunkResult,
} from '../../domain/audit-export.ts';
import type { DecodedRecord, ExportDecoder, LineChunkChecker } from '../ports/audit.ts';
import type { Hashing } from '../ports/crypto.ts';

/** An export's bytes as they are read (a file stream, or chunks in memory). */
export type ExportBytes = AsyncIterable<Buffer | string> | Iterable<Buffer | string>;

/** The chunks of whole lines still to read; the first one is already read (it told the format). */
export interface LineChunks {
  first: IteratorResult<Buffer>;
  rest: AsyncIterator<Buffer>;
}

/**
 * Whole lines are handed on in chunks of at most this many bytes (unless one line is longer). Kept
 * under V8's large-object size (128 KB): decoding a larger chunk into one string costs twenty times
 * as much (measured: 100 MB decoded in 256 KB chunks 380 ms, in 64 KB chunks 16 ms).
 */
export const defaultChunkBytes = 64 * 1024;

/**
 * Cuts bytes into chunks of whole lines (a chunk ends just after a newline; only the file's last
 * may not), and hashes every byte before the last line, which in an export is the manifest: the
 * bytes its contentDigest covers. The digest is taken over the bytes as read (not over decoded
 * text), a chunk's span at a time: what is not yet hashed is the last complete line seen (`held`)
 * and the unfinished line after it (`tail`), since either may turn out to be the file's last line.
 * A newline byte never occurs inside a UTF-8 sequence, so each chunk decodes on its own.
 */
export function wholeLineChunks(hashing: Hashing, chunks: ExportBytes, chunkBytes: number) {
  const digest = hashing.sha256();
  let held: Buffer[] = [];
  let tail: Buffer[] = [];
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
  async function* wholeLines(): AsyncGenerator<Buffer> {
    let pending: Buffer[] = [];
    let size = 0;
    for await (const chunk of chunks) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      if (bytes.length === 0) continue;
      hashBytes(bytes);
      pending.push(bytes);
      size += bytes.length;
      if (size < chunkBytes) continue;
      let joined = Buffer.concat(pending, size);
      // As many chunks of whole lines as fit, each at most chunkBytes (a longer line goes whole).
      while (joined.length >= chunkBytes) {
        let cut = joined.lastIndexOf(0x0a, chunkBytes - 1) + 1;
        if (cut === 0) cut = joined.indexOf(0x0a, chunkBytes) + 1;
        if (cut === 0) break; // one very long line so far
        // A copy: the chunk may be handed to another thread, and the rest must not share its memory.
        yield Buffer.from(joined.subarray(0, cut));
        joined = joined.subarray(cut);
      }
      pending = joined.length > 0 ? [Buffer.from(joined)] : [];
      size = joined.length;
    }
    if (size > 0) yield Buffer.concat(pending, size);
  }
  return {
    chunks: wholeLines(),
    /** Once every chunk is read: the digest of every byte before the last line. */
    digest: () => {
      if (tail.length > 0) hashAll(held);
      return `sha256:${digest.hex()}`;
    },
  };
}

/** Checks chunks of NDJSON lines on this thread, one after the other. */
export function inlineLineChunkChecker(decodeLine: (raw: string, line: number) => DecodedRecord | null): LineChunkChecker {
  return {
    check: async (bytes) => checkLineChunk(bytes.toString('utf8'), decodeLine),
    parallel: 1,
    close: async () => undefined,
  };
}

/**
 * NDJSON, one record a line: chunks of lines are checked on their own (on other threads where the
 * checker has them), a few ahead, and joined in file order.
 */
export async function joinLineChunks(checker: LineChunkChecker, input: LineChunks): Promise<{ join: ChunkJoin } | { problem: BadRecord }> {
  let join = emptyJoin();
  const inFlight: Array<Promise<LineChunkResult>> = [];
  let next = input.first;
  for (;;) {
    while (!next.done && inFlight.length < checker.parallel * 8) {
      inFlight.push(checker.check(next.value));
      next = await input.rest.next();
    }
    const result = inFlight.shift();
    if (!result) return { join };
    const joined = joinChunk(join, await result);
    if ('problem' in joined) {
      await Promise.allSettled(inFlight);
      return joined;
    }
    join = joined.join;
  }
}

/** CSV: a record may span lines (a quoted newline), so records come from the parser in order. */
export async function walkRecords(decoder: ExportDecoder, input: LineChunks): Promise<{ join: ChunkJoin } | { problem: BadRecord }> {
  const walk = createChainWalk();
  let manifestRecord = null as { jws: string; line: number } | null;
  let lastLine = 0;
  const lines = (async function* () {
    for (let next = input.first; !next.done; next = await input.rest.next()) {
      const parts = next.value.toString('utf8').split('\n');
      if (parts.at(-1) === '') parts.pop();
      lastLine += parts.length;
      yield* parts;
    }
  })();
  for await (const item of decoder.records(lines)) {
    let bad: BadRecord | null = null;
    if ('malformed' in item)
      bad = {
        line: item.line,
        seq: walk.state().lastSeq === null ? null : walk.state().lastSeq! + 1,
        reason: 'malformed',
        message: item.malformed,
      };
    else if (manifestRecord) bad = { line: item.line, seq: null, reason: 'record_after_manifest', message: 'a record after the manifest' };
    else if (item.record.record === 'manifest') manifestRecord = { jws: item.record.jws, line: item.line };
    else bad = walk.step(item.record, item.line);
    if (bad) return { problem: bad };
  }
  return { join: { walk: walk.state(), manifest: manifestRecord, lines: lastLine } };
}
