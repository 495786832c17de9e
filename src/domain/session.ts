// Session lifetimes (docs/security-model.md, Login, TOTP and sessions): short access tokens, refresh bounded by idle time and an absolute cap.

export interface SessionPolicy {
  accessTtlMs: number;
  refreshIdleMs: number;
  refreshAbsoluteMs: number;
}

export const defaultSessionPolicy: SessionPolicy = {
  accessTtlMs: 15 * 60_000,
  refreshIdleMs: 30 * 60_000,
  refreshAbsoluteMs: 12 * 60 * 60_000,
};

export interface SessionTimes {
  createdAt: Date;
  lastRefreshedAt: Date;
  revokedAt: Date | null;
}

export type SessionVerdict = 'live' | 'revoked' | 'idle' | 'absolute';

export function refreshVerdict(session: SessionTimes, now: Date, policy: SessionPolicy): SessionVerdict {
  if (session.revokedAt !== null) return 'revoked';
  if (now.getTime() - session.createdAt.getTime() >= policy.refreshAbsoluteMs) return 'absolute';
  if (now.getTime() - session.lastRefreshedAt.getTime() >= policy.refreshIdleMs) return 'idle';
  return 'live';
}

/** An access token never outlives its session's absolute end. */
export function accessTokenExpiry(session: SessionTimes, now: Date, policy: SessionPolicy): Date {
  const absoluteEnd = session.createdAt.getTime() + policy.refreshAbsoluteMs;
  return new Date(Math.min(now.getTime() + policy.accessTtlMs, absoluteEnd));
}
