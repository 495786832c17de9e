// A paused directory write, for tests that need "the work is still in progress" to hold on purpose
// rather than by luck: every call of one TenantDirectory method made while the hold is closed waits
// until the test releases it. The real directory does the work afterwards; nothing is faked.
import type { Harness } from './harness.ts';
import type { TenantDirectory } from '../../src/services/ports/directory.ts';

export interface DirectoryHold {
  /** Resolves once `count` calls are waiting at the hold. */
  reached(count?: number): Promise<void>;
  /** Calls waiting now. */
  readonly waiting: number;
  /** Calls made after this pass straight through (those already waiting keep waiting). */
  stopHolding(): void;
  /** Lets every waiting call through and stops holding. */
  release(): void;
  /** Puts the container's directory access back as it was (releases first). */
  restore(): void;
}

/** Holds `method` of every tenant directory the container's services open from now on. */
export function holdDirectory(h: Harness, method: keyof TenantDirectory): DirectoryHold {
  const access = h.container.access;
  const original = access.directory.bind(access);
  let holding = true;
  let opened: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (opened = resolve));
  let waiting = 0;
  const watchers: Array<{ count: number; resolve: () => void }> = [];
  const wake = () => {
    for (const w of [...watchers]) {
      if (waiting >= w.count) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  access.directory = async (tenant) => {
    const directory = await original(tenant);
    const real = directory[method] as (...args: unknown[]) => Promise<unknown>;
    return {
      ...directory,
      [method]: async (...args: unknown[]) => {
        if (holding) {
          waiting++;
          wake();
          await gate;
          waiting--;
        }
        return real.apply(directory, args);
      },
    } as TenantDirectory;
  };
  const hold: DirectoryHold = {
    reached: (count = 1) =>
      new Promise<void>((resolve) => {
        watchers.push({ count, resolve });
        wake();
      }),
    get waiting() {
      return waiting;
    },
    stopHolding() {
      holding = false;
    },
    release() {
      holding = false;
      opened();
      gate = new Promise<void>((resolve) => (opened = resolve));
    },
    restore() {
      hold.release();
      access.directory = original;
    },
  };
  return hold;
}
