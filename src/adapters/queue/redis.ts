// The Redis connection behind BullMQ. Redis holds only jobs; it must never evict them.
import { Redis } from 'ioredis';
import type { QueueHealth } from '../../services/ports.ts';

export function createRedis(url: string): Redis {
  return new Redis(url, {
    // BullMQ workers need blocking commands to wait forever rather than fail after N retries.
    maxRetriesPerRequest: null,
    lazyConnect: true,
    enableOfflineQueue: true,
    connectTimeout: 5000,
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

/** SPEC §7: workers refuse to start unless Redis runs with maxmemory-policy noeviction. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is ${policy ?? 'unknown'}; it must be noeviction so jobs are never dropped`);
  }
}
