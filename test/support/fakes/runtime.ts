// Time, randomness and the event log for unit tests: the clock the test moves
// (test/support/clock.ts), ids and bytes that are predictable, and a log that records.
import { createHash } from 'node:crypto';
import type { EventLog, RandomSource } from '../../../src/services/ports/runtime.ts';

export { fakeClock, type FakeClock } from '../clock.ts';

export interface RecordedLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

export interface RecordingLog extends EventLog {
  readonly lines: RecordedLine[];
  messages(level?: RecordedLine['level']): string[];
}

export function recordingLog(): RecordingLog {
  const lines: RecordedLine[] = [];
  const at = (level: RecordedLine['level']) => (fields: Record<string, unknown>, message: string) => {
    lines.push({ level, fields, message });
  };
  return {
    lines,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    messages: (level) => lines.filter((l) => !level || l.level === level).map((l) => l.message),
  };
}

/**
 * Ids that are UUID-shaped and in order (…-000000000001, …-000000000002), and bytes from a seeded
 * SHA-256 stream: the same test draws the same values every run.
 */
export function sequentialRandom(seed = 'stint-unit'): RandomSource & { readonly ids: string[] } {
  const ids: string[] = [];
  let counter = 0;
  let drawn = 0;
  return {
    ids,
    id() {
      const id = `10000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
      ids.push(id);
      return id;
    },
    bytes(count) {
      const out = Buffer.alloc(count);
      for (let filled = 0; filled < count; drawn++) {
        const block = createHash('sha256').update(`${seed}:${drawn}`).digest();
        filled += block.copy(out, filled);
      }
      return out;
    },
  };
}
