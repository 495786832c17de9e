// Where each elevation's approval messages were posted in Slack (channel and message ts), so they
// can be updated when someone decides. Kept in Redis beside the jobs: it is presentation only (the
// decision itself lives in the store), and should it be lost the messages simply stay as posted.
import type { Redis } from 'ioredis';
import type { SlackApprovalMessages } from '../../services/ports/slack.ts';

/** Longer than any approval can wait, so an approval's messages are still known when the grant ends. */
const keepSeconds = 14 * 24 * 3600;

export function createSlackApprovalMessages(redis: Redis, keyPrefix: string): SlackApprovalMessages {
  const key = (elevationId: string) => `${keyPrefix}:slack:approval-messages:${elevationId}`;
  return {
    async remember(elevationId, m) {
      await redis
        .multi()
        .hset(key(elevationId), `${m.round}|${m.target}`, `${m.channel}|${m.ts}`)
        .expire(key(elevationId), keepSeconds)
        .exec();
    },
    async list(elevationId) {
      const fields = await redis.hgetall(key(elevationId));
      return Object.entries(fields).flatMap(([field, value]) => {
        const [round, target] = field.split('|');
        const [channel, ts] = value.split('|');
        return round && target && channel && ts ? [{ round: Number(round), target, channel, ts }] : [];
      });
    },
  };
}
