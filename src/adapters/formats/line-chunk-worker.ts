// A worker thread of the offline verifier's pool (line-chunk-pool.ts): checks chunks of whole
// NDJSON lines on their own (checkLineChunk) and answers with what each holds.
import { parentPort } from 'node:worker_threads';
import { checkLineChunk } from '../../domain/audit-export.ts';
import { auditExportDecoder } from './export-formats.ts';

const decodeLine = auditExportDecoder('ndjson').line!;
const utf8 = new TextDecoder('utf-8');

parentPort!.on('message', ({ id, bytes }: { id: number; bytes: Uint8Array }) => {
  try {
    parentPort!.postMessage({ id, result: checkLineChunk(utf8.decode(bytes), decodeLine) });
  } catch (error) {
    parentPort!.postMessage({ id, error: (error as Error).message });
  }
});
