// A profile's ticket pattern is an admin's regular expression that runs on every request before the
// TOTP code is checked, so it must never backtrack without bound (ReDoS: `(\d+)+X` against a long
// ticket blocks the process). A pattern is accepted only when recheck proves it runs in linear time
// (anchored as it is used, with the `u` flag); tickets are bounded in length as well. See
// docs/architecture.md, "Access profiles".
import { createRequire } from 'node:module';
import type { checkSync } from 'recheck';
import { DomainError } from './errors.ts';

export const maxTicketLength = 100;
/** How long the proof may take when a profile is saved; a pattern not proven safe by then is refused. */
const proofTimeoutMs = 2000;

type Recheck = { checkSync: typeof checkSync };
let recheck: Recheck | undefined;
// recheck takes a third of a second to load: only processes that meet a ticket pattern pay it.
const loadRecheck = (): Recheck => (recheck ??= createRequire(import.meta.url)('recheck') as Recheck);

const anchored = (pattern: string) => `^(?:${pattern})$`;
const proven = new Map<string, string | null>();

/** Why `pattern` may not be a ticket pattern (not a regular expression, or not provably linear), or null. */
export function ticketPatternProblem(pattern: string): string | null {
  const known = proven.get(pattern);
  if (known !== undefined) return known;
  let problem: string | null = null;
  try {
    new RegExp(anchored(pattern), 'u');
    const verdict = loadRecheck().checkSync(anchored(pattern), 'u', { timeout: proofTimeoutMs });
    if (verdict.status === 'vulnerable') {
      problem = `The ticket pattern can take ${verdict.complexity.type} time on some tickets (nested or overlapping repetition); write it without`;
    } else if (verdict.status !== 'safe') {
      problem = 'The ticket pattern could not be proven to run in linear time; write it more simply';
    }
  } catch {
    problem = 'The ticket pattern is not a valid regular expression';
  }
  if (proven.size >= 1000) proven.clear();
  proven.set(pattern, problem);
  return problem;
}

export function assertTicketPattern(pattern: string): void {
  const problem = ticketPatternProblem(pattern);
  if (problem) throw new DomainError('validation_failed', problem, { field: 'ticketPattern' });
}

/** Checks a request's ticket against its profile's pattern: length first, then the (proven) pattern. */
export function assertTicketMatches(pattern: string, ticket: string): void {
  if (ticket.length > maxTicketLength) {
    throw new DomainError('validation_failed', `A ticket id has at most ${maxTicketLength} characters`, { field: 'ticket' });
  }
  // A pattern stored before patterns were proven is never run unproven.
  if (ticketPatternProblem(pattern) !== null) {
    throw new DomainError('validation_failed', 'This profile’s ticket pattern is not safe to run; an admin must change it', {
      field: 'ticket',
    });
  }
  if (!new RegExp(anchored(pattern), 'u').test(ticket)) {
    throw new DomainError('validation_failed', 'The ticket id does not match this profile’s pattern', { field: 'ticket', pattern });
  }
}
