// Verifies that a request really comes from Slack (Slack's "signing secret" scheme): an
// HMAC-SHA256 over `v0:<timestamp>:<raw body>`, compared in constant time, with the timestamp no
// more than five minutes off in either direction. A request that passes is remembered in Redis
// for longer than it could ever pass again, so the same signed request replayed later is told
// apart and changes nothing. Slack's legacy verification token is never looked at.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DomainError } from '../../domain/errors.ts';
import type { Clock } from '../../services/ports/runtime.ts';
import type { SlackRequestVerifier } from '../../services/ports/slack.ts';

/** Slack's own bound: a request signed more than this far from our clock is refused. */
export const maxSkewSeconds = 300;
/**
 * A signature can pass from 5 minutes before its timestamp to 5 minutes after it (our clock may
 * run behind or ahead of Slack's): remembering it for 10 minutes plus a margin covers that span
 * wherever in it the first copy arrived.
 */
const rememberSeconds = 2 * maxSkewSeconds + 60;

const signaturePattern = /^v0=[0-9a-f]{64}$/;
const timestampPattern = /^[0-9]{1,12}$/;

export function slackSignature(signingSecret: string, timestamp: string, rawBody: Buffer): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

const refused = (why: string) => new DomainError('unauthenticated', `This request is not signed by Slack: ${why}`);

export function createSlackRequestVerifier(deps: {
  signingSecret: string;
  redis: Redis;
  keyPrefix: string;
  clock: Clock;
}): SlackRequestVerifier {
  const { signingSecret, redis, keyPrefix, clock } = deps;
  return {
    async verify({ timestamp, signature, rawBody }) {
      if (!timestamp || !signature) throw refused('the X-Slack-Request-Timestamp and X-Slack-Signature headers are required');
      if (!timestampPattern.test(timestamp)) throw refused('the timestamp is not a number of seconds');
      const skew = Math.abs(clock.now().getTime() / 1000 - Number(timestamp));
      if (skew > maxSkewSeconds) throw refused('the timestamp is more than 5 minutes from now');
      if (!signaturePattern.test(signature)) throw refused('the signature is malformed');
      const expected = Buffer.from(slackSignature(signingSecret, timestamp, rawBody), 'ascii');
      if (!timingSafeEqual(expected, Buffer.from(signature, 'ascii'))) throw refused('the signature does not match');
      // SET NX is atomic across every API replica: of two copies of one request, exactly one is fresh.
      const first = await redis.set(`${keyPrefix}:slack:seen:${signature.slice(3)}`, '1', 'EX', rememberSeconds, 'NX');
      return first === 'OK' ? 'fresh' : 'replayed';
    },
  };
}
