import { randomBytes, randomUUID } from 'node:crypto';
import type { RandomSource } from '../../services/ports/runtime.ts';

export function createRandomSource(): RandomSource {
  return { bytes: (count) => randomBytes(count), id: () => randomUUID() };
}
