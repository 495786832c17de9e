// Activation leases (docs/architecture.md, Activation leases): who is activating an elevation, kept
// while it works, and lost for good once taken over or run out.
import type { ActivationLease } from '../../domain/elevation.ts';
import { DomainError } from '../../domain/errors.ts';
import type { Core } from './core.ts';

/** A new lease for an elevation entering `activating`. */
export const newLease = (c: Core, at: Date): ActivationLease => ({
  holder: c.random.id(),
  until: new Date(at.getTime() + c.settings.activationLeaseMs),
});

export interface LeaseKeeper {
  holder: string | undefined;
  /** Throws `conflict` once the lease is lost: nothing more is written to the directory. */
  assertHeld(): void;
  stop(): void;
}

/**
 * Keeps the elevation's activation lease while this process works on it: renewed every third of
 * its length. Lost when a renewal finds it taken (the reconciler judged it lapsed) or when it ran
 * out before a renewal got through (the store did not answer): from then on this process writes
 * nothing more to the directory, and its final move is refused, so the one undoing it is never
 * raced by a grant completing under it.
 */
export function keepLease(c: Core, id: string, lease: ActivationLease | null | undefined): LeaseKeeper {
  let heldUntil = lease?.until.getTime() ?? Infinity;
  let lost = false;
  let renewing = false;
  const renew = (held: ActivationLease) => {
    if (renewing || lost) return;
    renewing = true;
    const until = new Date(c.clock.now().getTime() + c.settings.activationLeaseMs);
    c.store.elevations
      .renewLease(id, held.holder, until)
      .then(
        (renewed) => {
          if (renewed) heldUntil = until.getTime();
          else lost = true;
        },
        (error: unknown) => c.log.warn({ elevationId: id, err: (error as Error).message }, 'could not renew an activation lease; retrying'),
      )
      .finally(() => {
        renewing = false;
      });
  };
  const timer = lease ? c.timers.interval(Math.max(250, Math.floor(c.settings.activationLeaseMs / 3)), () => renew(lease)) : null;
  return {
    holder: lease?.holder,
    assertHeld() {
      if (lost || c.clock.now().getTime() >= heldUntil) {
        lost = true;
        throw new DomainError('conflict', 'The activation ran past its lease and is being undone');
      }
    },
    stop() {
      timer?.clear();
    },
  };
}
