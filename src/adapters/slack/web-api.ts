// Slack's Web API through the official SDK (@slack/web-api). The base URL is configurable so the
// tests talk to a local fake Slack. Calls made while a person waits (opening a modal within the
// 3 s a trigger id lives) are not retried; the worker's calls get a short retry here and the
// queue's own retries after that. Slack's error strings are kept in the error message.
import { LogLevel, WebClient, type Logger as SlackLogger, type WebClientOptions } from '@slack/web-api';
import type { EventLog } from '../../services/ports/runtime.ts';
import type { SlackApi } from '../../services/ports/slack.ts';

/** Slack's SDK logs through this; debug lines (which echo request bodies) are dropped. */
function sdkLogger(log: EventLog): SlackLogger {
  let level = LogLevel.INFO;
  const text = (parts: unknown[]) => parts.map((p) => (p instanceof Error ? p.message : String(p))).join(' ');
  return {
    debug: () => undefined,
    info: (...msg: unknown[]) => log.info({ component: 'slack-sdk' }, text(msg)),
    warn: (...msg: unknown[]) => log.warn({ component: 'slack-sdk' }, text(msg)),
    error: (...msg: unknown[]) => log.error({ component: 'slack-sdk' }, text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

function client(botToken: string, apiUrl: string, log: EventLog, options: WebClientOptions): WebClient {
  return new WebClient(botToken, { slackApiUrl: apiUrl, logger: sdkLogger(log), allowAbsoluteUrls: false, ...options });
}

/** Answers Slack's own error string (`channel_not_found`, `invalid_auth` …) in the message. */
async function call<T>(method: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const data = (error as { data?: { error?: unknown } }).data;
    const reason = typeof data?.error === 'string' ? data.error : (error as Error).message;
    throw new Error(`Slack ${method} failed: ${reason}`, { cause: error });
  }
}

export function createSlackApi(deps: { botToken: string; apiUrl: string; log: EventLog; interactive: boolean }): SlackApi {
  const web = client(
    deps.botToken,
    deps.apiUrl,
    deps.log,
    deps.interactive
      ? { retryConfig: { retries: 0 }, timeout: 2500 }
      : { retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 4000 }, timeout: 10_000 },
  );
  return {
    async postMessage(channel, message) {
      const answer = await call('chat.postMessage', () =>
        web.chat.postMessage({ channel, text: message.text, blocks: message.blocks as never, unfurl_links: false }),
      );
      return { channel: answer.channel ?? channel, ts: answer.ts! };
    },
    async updateMessage(channel, ts, message) {
      await call('chat.update', () => web.chat.update({ channel, ts, text: message.text, blocks: (message.blocks ?? []) as never }));
    },
    async postEphemeral(channel, user, message) {
      await call('chat.postEphemeral', () =>
        web.chat.postEphemeral({ channel, user, text: message.text, blocks: message.blocks as never }),
      );
    },
    async openView(triggerId, view) {
      const answer = await call('views.open', () => web.views.open({ trigger_id: triggerId, view: view as never }));
      return { viewId: answer.view?.id ?? '' };
    },
    async updateView(viewId, view) {
      await call('views.update', () => web.views.update({ view_id: viewId, view: view as never }));
    },
  };
}
