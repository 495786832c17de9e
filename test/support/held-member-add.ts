// Holds an activation mid-way on purpose: ldapts' modify is wrapped so that an add of `memberDn`
// to a group goes to the real directory (which applies it) and then does not answer the caller
// until released. The account is then enabled and in the group while its activation waits — the
// moment a crash would leave it. Used in-process, and in a child process through --import
// (held-member-add-preload.ts).
import { Client, type Change } from 'ldapts';

export interface HeldMemberAdd {
  /** Resolves once the directory has applied the add and its answer is being held. */
  held: Promise<void>;
  release(): void;
  restore(): void;
}

export function holdMemberAdd(memberDn: string): HeldMemberAdd {
  const original = Client.prototype.modify;
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const held = new Promise<void>((resolve) => (reached = resolve));
  const wanted = memberDn.toLowerCase();
  Client.prototype.modify = async function (this: Client, ...args: Parameters<Client['modify']>) {
    await original.apply(this, args);
    const changes: Change[] = Array.isArray(args[1]) ? args[1] : [args[1]];
    const addsMember = changes.some(
      (c) =>
        c.operation === 'add' &&
        c.modification.type.toLowerCase() === 'member' &&
        c.modification.values.some((v) => String(v).toLowerCase() === wanted),
    );
    if (addsMember) {
      reached();
      await released;
    }
  };
  return {
    held,
    release,
    restore() {
      Client.prototype.modify = original;
    },
  };
}
