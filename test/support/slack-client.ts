// Sends requests to Stint the way Slack does: form-encoded bodies (a slash command's fields, or
// `payload=<json>` for interactions), signed with the signing secret over `v0:<timestamp>:<body>`
// in X-Slack-Signature, with X-Slack-Request-Timestamp taken from the harness clock. Each request
// can be sent again byte for byte, or sent with broken signing, for the verification tests.
import { createHmac } from 'node:crypto';
import type { FakeMessage, FakeSlack, FakeView } from './fake-slack.ts';
import type { Harness } from './harness.ts';

export const commandsPath = '/api/v1/slack/commands';
export const interactionsPath = '/api/v1/slack/interactions';

export interface SignedRequest {
  path: string;
  body: string;
  headers: Record<string, string>;
}

export interface SigningOptions {
  /** Seconds added to the clock's time for the timestamp header (negative: in the past). */
  skewSeconds?: number;
  /** Sign with another secret. */
  secret?: string;
  /** Leave these headers out. */
  omit?: Array<'x-slack-signature' | 'x-slack-request-timestamp'>;
}

export const teamId = 'T0STINT01';

export function slackClient(h: Harness, fake: FakeSlack, signingSecret: string) {
  function sign(path: string, body: string, options: SigningOptions = {}): SignedRequest {
    const timestamp = String(Math.floor(h.clock.now().getTime() / 1000) + (options.skewSeconds ?? 0));
    const signature = `v0=${createHmac('sha256', options.secret ?? signingSecret)
      .update(`v0:${timestamp}:${body}`)
      .digest('hex')}`;
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
    };
    for (const name of options.omit ?? []) delete headers[name];
    return { path, body, headers };
  }

  const send = (request: SignedRequest) => h.http.post(request.path).set(request.headers).send(request.body);

  const user = (userId: string) => ({ id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: teamId });

  return {
    sign,
    send,

    /** `/stint <text>` typed by `userId`; answers the response and the request (to replay) and its trigger id. */
    async command(userId: string, text: string, options: SigningOptions = {}) {
      const triggerId = fake.triggerId();
      const body = new URLSearchParams({
        token: 'legacy-verification-token-never-checked',
        team_id: teamId,
        team_domain: 'msp',
        channel_id: 'C0HELPDESK',
        channel_name: 'helpdesk',
        user_id: userId,
        user_name: userId.toLowerCase(),
        command: '/stint',
        text,
        api_app_id: 'A0STINT01',
        is_enterprise_install: 'false',
        response_url: `https://hooks.slack.invalid/commands/${teamId}/1/x`,
        trigger_id: triggerId,
      }).toString();
      const request = sign(commandsPath, body, options);
      return { response: await send(request), request, triggerId };
    },

    /** A click on the button `actionId` of a message Stint posted. */
    async click(userId: string, message: FakeMessage, actionId: string, options: SigningOptions = {}) {
      const found = findButton(message.blocks, actionId);
      if (!found) throw new Error(`no ${actionId} button in the message`);
      const triggerId = fake.triggerId();
      const payload = {
        type: 'block_actions',
        user: user(userId),
        api_app_id: 'A0STINT01',
        token: 'legacy-verification-token-never-checked',
        container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
        trigger_id: triggerId,
        team: { id: teamId, domain: 'msp' },
        channel: { id: message.channel, name: 'approvals' },
        message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks },
        response_url: `https://hooks.slack.invalid/actions/${teamId}/1/x`,
        actions: [
          {
            type: 'button',
            action_id: actionId,
            block_id: found.blockId,
            value: found.value,
            action_ts: String(h.clock.now().getTime() / 1000),
          },
        ],
      };
      const request = sign(interactionsPath, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), options);
      return { response: await send(request), request, triggerId };
    },

    /** Submits a modal Stint opened, with `values` by action id. */
    async submit(userId: string, view: FakeView, values: Record<string, string>, options: SigningOptions = {}) {
      const blocks =
        (view.view.blocks as Array<{
          type: string;
          block_id?: string;
          element?: { action_id?: string; type?: string; initial_value?: string };
        }>) ?? [];
      const state: Record<string, Record<string, { type: string; value: string | null }>> = {};
      for (const block of blocks) {
        if (block.type !== 'input' || !block.block_id || !block.element?.action_id) continue;
        // As in Slack, an input the user left alone submits its initial value.
        const value = values[block.element.action_id] ?? block.element.initial_value;
        state[block.block_id] = { [block.element.action_id]: { type: block.element.type ?? 'plain_text_input', value: value ?? null } };
      }
      const payload = {
        type: 'view_submission',
        team: { id: teamId, domain: 'msp' },
        user: user(userId),
        api_app_id: 'A0STINT01',
        token: 'legacy-verification-token-never-checked',
        trigger_id: fake.triggerId(),
        view: {
          ...view.view,
          id: view.id,
          team_id: teamId,
          state: { values: state },
          hash: `h${view.id}`,
          root_view_id: view.id,
          app_id: 'A0STINT01',
          bot_id: 'B0STINT01',
        },
        response_urls: [],
        is_enterprise_install: false,
      };
      const request = sign(interactionsPath, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), options);
      return { response: await send(request), request };
    },
  };
}

function findButton(blocks: FakeMessage['blocks'], actionId: string): { blockId: string; value: string } | null {
  for (const block of blocks) {
    const elements = (block.elements as Array<{ type?: string; action_id?: string; value?: string }> | undefined) ?? [];
    for (const element of elements) {
      if (element.type === 'button' && element.action_id === actionId)
        return { blockId: String(block.block_id ?? ''), value: element.value ?? '' };
    }
  }
  return null;
}
