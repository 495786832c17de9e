// A local stand-in for Slack's Web API (https://slack.com/api/<method>) on loopback: the one fake
// in this project, because the real Slack cannot be reached from tests. It speaks the wire format
// @slack/web-api sends (form-encoded arguments, JSON-encoded blocks and views, a Bearer token),
// answers like Slack for the methods Stint calls, keeps Slack's rules that matter (a trigger id
// opens one modal, within 3 s; a modal with inputs needs a submit button; chat.update needs an
// existing message in a channel, not a user id), and records every call for the tests.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Array<Record<string, unknown>>;
}

export interface FakeView {
  id: string;
  triggerId: string;
  view: Record<string, unknown>;
}

export interface FakeSlack {
  /** Base URL for slack.apiUrl. */
  apiUrl: string;
  botToken: string;
  calls: SlackCall[];
  callsOf(method: string): SlackCall[];
  /** Messages as they stand now (after updates), by `${channel}:${ts}`. */
  messages: Map<string, FakeMessage>;
  /** Messages posted to one channel, or to a user's DM (by user id), oldest first. */
  messagesIn(channelOrUser: string): FakeMessage[];
  views: Map<string, FakeView>;
  /** A fresh trigger id, as Slack puts in a slash command or a button click. */
  triggerId(): string;
  /** The modal opened with that trigger id, if any. */
  viewOpenedBy(triggerId: string): FakeView | undefined;
  /** The next call to `method` answers `{ ok: false, error }`. */
  failNext(method: string, error: string): void;
  reset(): void;
  close(): Promise<void>;
}

/** Slack's DM channel id for a user: the fake keeps it predictable (U123 → D123). */
export const dmChannelOf = (userId: string) => `D${userId.slice(1)}`;

const jsonArgs = new Set(['blocks', 'view', 'attachments', 'metadata']);

async function readArgs(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').startsWith('application/json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) args[key] = jsonArgs.has(key) ? JSON.parse(value) : value;
  return args;
}

export async function startFakeSlack(botToken = `xoxb-test-${Math.random().toString(36).slice(2)}`): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  const messages = new Map<string, FakeMessage>();
  const views = new Map<string, FakeView>();
  const triggers = new Map<string, { issuedAt: number; used: boolean }>();
  const failures = new Map<string, string>();
  let counter = 0;
  const next = () => ++counter;

  function answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const failure = failures.get(method);
    if (failure) {
      failures.delete(method);
      return { ok: false, error: failure };
    }
    switch (method) {
      case 'chat.postMessage': {
        const target = String(args.channel ?? '');
        if (!target) return { ok: false, error: 'channel_not_found' };
        if (!args.text && !args.blocks) return { ok: false, error: 'no_text' };
        // Posting to a user id lands in the app's DM with that user, under the DM's channel id.
        const channel = /^[UW]/.test(target) ? dmChannelOf(target) : target;
        const ts = `1700000000.${String(next()).padStart(6, '0')}`;
        const message = { channel, ts, text: String(args.text ?? ''), blocks: (args.blocks as FakeMessage['blocks']) ?? [] };
        messages.set(`${channel}:${ts}`, message);
        return { ok: true, channel, ts, message: { ...message, type: 'message' } };
      }
      case 'chat.update': {
        const key = `${String(args.channel)}:${String(args.ts)}`;
        const existing = messages.get(key);
        if (!existing) return { ok: false, error: /^[UW]/.test(String(args.channel)) ? 'channel_not_found' : 'message_not_found' };
        existing.text = String(args.text ?? existing.text);
        existing.blocks = (args.blocks as FakeMessage['blocks']) ?? existing.blocks;
        return { ok: true, channel: existing.channel, ts: existing.ts, text: existing.text };
      }
      case 'chat.postEphemeral':
        if (!args.channel || !args.user) return { ok: false, error: 'invalid_arguments' };
        return { ok: true, message_ts: `1700000000.${String(next()).padStart(6, '0')}` };
      case 'views.open': {
        const triggerId = String(args.trigger_id ?? '');
        const trigger = triggers.get(triggerId);
        if (!trigger || trigger.used || Date.now() - trigger.issuedAt > 3000) return { ok: false, error: 'expired_trigger_id' };
        const view = args.view as Record<string, unknown> | undefined;
        const problem = checkModal(view);
        if (problem) return { ok: false, error: 'invalid_arguments', response_metadata: { messages: [problem] } };
        trigger.used = true;
        const id = `V${String(next()).padStart(8, '0')}`;
        views.set(id, { id, triggerId, view: view! });
        return { ok: true, view: { ...view, id, hash: `h${next()}` } };
      }
      case 'views.update': {
        const existing = views.get(String(args.view_id ?? ''));
        if (!existing) return { ok: false, error: 'not_found' };
        const view = args.view as Record<string, unknown> | undefined;
        const problem = checkModal(view);
        if (problem) return { ok: false, error: 'invalid_arguments', response_metadata: { messages: [problem] } };
        existing.view = view!;
        return { ok: true, view: { ...view, id: existing.id } };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const match = /^\/api\/([a-zA-Z.]+)$/.exec(req.url ?? '');
      const args = await readArgs(req);
      const reply = (body: Record<string, unknown>) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || !match) return reply({ ok: false, error: 'unknown_method' });
      if (req.headers.authorization !== `Bearer ${botToken}`) return reply({ ok: false, error: 'invalid_auth' });
      const method = match[1]!;
      calls.push({ method, args, at: Date.now() });
      reply(answer(method, args));
    })().catch((error: Error) => {
      res.writeHead(500);
      res.end(error.message);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    botToken,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    messages,
    messagesIn: (channelOrUser) => {
      const channel = /^[UW]/.test(channelOrUser) ? dmChannelOf(channelOrUser) : channelOrUser;
      return [...messages.values()].filter((m) => m.channel === channel);
    },
    views,
    triggerId() {
      const id = `${next()}.${Date.now()}.${Math.random().toString(16).slice(2, 18)}`;
      triggers.set(id, { issuedAt: Date.now(), used: false });
      return id;
    },
    viewOpenedBy: (triggerId) => [...views.values()].find((v) => v.triggerId === triggerId),
    failNext(method, error) {
      failures.set(method, error);
    },
    reset() {
      calls.length = 0;
      messages.clear();
      views.clear();
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The Block Kit rules Slack enforces on modals that a mistake in Stint could break. */
function checkModal(view: Record<string, unknown> | undefined): string | null {
  if (!view || view.type !== 'modal') return 'view.type must be modal';
  const title = view.title as { type?: string; text?: string } | undefined;
  if (title?.type !== 'plain_text' || !title.text || title.text.length > 24)
    return 'view.title must be plain_text of at most 24 characters';
  const blocks = (view.blocks as Array<Record<string, unknown>> | undefined) ?? [];
  if (blocks.length === 0 || blocks.length > 100) return 'view.blocks must hold 1 to 100 blocks';
  if (blocks.some((b) => b.type === 'input') && !view.submit) return 'must define submit to use input block';
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000)
    return 'private_metadata is longer than 3000 characters';
  const ids = blocks.map((b) => b.block_id).filter((id) => id !== undefined);
  if (new Set(ids).size !== ids.length) return 'block_id values must be unique';
  return null;
}
