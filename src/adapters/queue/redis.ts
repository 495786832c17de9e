// The Redis connection behind BullMQ. Redis holds only jobs; it must never evict them.
import { Redis } from 'ioredis';
import { DomainError } from '../../domain/errors.ts';
import type { QueueHealth } from '../../services/ports/queue.ts';
import { wrapMethods } from '../method-wrapping.ts';

/**
 * Two kinds of connection (BullMQ's own advice): a worker's waits for Redis forever — its blocking
 * commands must never give up — while a producer's (the API's queues, the Slack replay guard, the
 * jobs a worker's services queue) fails fast, so a request meets a Redis that is away with a 503
 * at once instead of hanging until it is back (docs/operations.md, "Outages").
 */
export function createRedis(url: string, kind: 'worker' | 'producer' = 'worker'): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    ...(kind === 'worker'
      ? { maxRetriesPerRequest: null }
      : // One reconnect attempt before a queued command is failed, and no reply within 5 s fails it too.
        { maxRetriesPerRequest: 1, commandTimeout: 5000 }),
  });
}

/**
 * The same adapter, each method's failure (Redis away) turned into queue_unavailable (503), and
 * each call bounded in time: BullMQ waits for a connection that is not ready yet (a queue's first
 * use, its job scheduler's) whatever ioredis's own limits, so a call still pending after
 * `timeoutMs` is answered queue_unavailable too (should it complete later, what it wrote is
 * harmless: a job for a grant that failed finds nothing to do).
 */
export function failingAsQueueUnavailable<T extends object>(adapter: T, timeoutMs = 5000): T {
  const unavailable = (cause: unknown) => {
    const translated = new DomainError('queue_unavailable', 'The job queue (Redis) cannot be reached; try again shortly');
    Object.defineProperty(translated, 'cause', { value: cause, enumerable: false });
    return translated;
  };
  return wrapMethods(adapter, (method) => async (...args) => {
    let timer: NodeJS.Timeout | undefined;
    const call = Promise.resolve(method(...args));
    call.catch(() => undefined); // answered below, or too late to matter
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(new Error(`no answer from Redis within ${timeoutMs} ms`))), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([call, late]);
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw unavailable(error);
    } finally {
      clearTimeout(timer);
    }
  });
}

export function redisHealth(redis: Redis): QueueHealth {
  return {
    async ping() {
      const answer = await Promise.race([
        redis.ping(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('redis ping timed out')), 2000).unref()),
      ]);
      if (answer !== 'PONG') throw new Error('redis did not answer PONG');
    },
  };
}

/** docs/architecture.md, Process roles: workers refuse to start unless Redis runs with maxmemory-policy noeviction. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is ${policy ?? 'unknown'}; it must be noeviction so jobs are never dropped`);
  }
}
