// Notices and expiry warnings that record what was published (the real ones queue them in Redis).
import type { ExpiryWarnings, Notice, Notifications } from '../../../src/services/ports/notifications.ts';

export interface FakeNotifications extends Notifications {
  readonly published: Notice[];
  /** The next publish rejects with `error` (the queue away); a use case must carry on. */
  failNext(error?: Error): void;
}

export function fakeNotifications(): FakeNotifications {
  const published: Notice[] = [];
  let failure: Error | null = null;
  return {
    published,
    async publish(notices) {
      if (failure) {
        const error = failure;
        failure = null;
        throw error;
      }
      published.push(...structuredClone(notices));
    },
    failNext(error = new Error('queue_unavailable')) {
      failure = error;
    },
  };
}

export interface FakeExpiryWarnings extends ExpiryWarnings {
  readonly scheduled: Map<string, Date>;
}

export function fakeExpiryWarnings(): FakeExpiryWarnings {
  const scheduled = new Map<string, Date>();
  return {
    scheduled,
    async schedule(elevationId, at) {
      scheduled.set(elevationId, new Date(at));
    },
    async cancel(elevationId) {
      scheduled.delete(elevationId);
    },
  };
}
