// Slack's request URLs: the `/stint` slash command and interactivity (buttons, modal
// submissions). Not session-authenticated: every request must carry Slack's signature over its
// raw body, so the body is kept raw (and size-limited) for these two routes only. Answers are
// Slack's: an empty 200, an ephemeral message, or a modal response action.
import express from 'express';
import { z } from 'zod';
import type { SlackService } from '../../services/slack/index.ts';
import { defineRoute, type HandlerInput, type Route } from '../route.ts';

const slackAnswer = z.union([
  z.object({ response_type: z.literal('ephemeral'), text: z.string() }).describe('A message only the user sees'),
  z
    .object({ response_action: z.enum(['errors', 'update']) })
    .loose()
    .describe('For a modal submission: errors by input, or a new view'),
  z.object({}).describe('Acknowledged; nothing to show'),
]);

export function slackRoutes(slack: SlackService, bodyLimitBytes: number): Route[] {
  const rawBody = express.raw({ type: () => true, limit: bodyLimitBytes });
  const receive =
    (kind: 'command' | 'interaction') =>
    async ({ req, context }: HandlerInput<unknown, unknown, unknown>) => {
      const ack = await slack.receive(
        kind,
        {
          timestamp: req.get('x-slack-request-timestamp'),
          signature: req.get('x-slack-signature'),
          rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        },
        context,
      );
      return { status: 200, body: ack.body };
    };
  const responses = {
    200: {
      description: 'Acknowledged within Slack’s 3 s; slow work (the directory, approvals) carries on afterwards',
      schema: slackAnswer,
    },
    401: { description: 'Missing or wrong X-Slack-Signature, or X-Slack-Request-Timestamp more than 5 minutes off; nothing was done' },
  };
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/slack/commands',
      summary: 'Slack slash command `/stint request|list|revoke|help` (signed by Slack: X-Slack-Signature, X-Slack-Request-Timestamp)',
      tag: 'slack',
      auth: 'none',
      before: [rawBody],
      responses,
      handler: receive('command'),
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/slack/interactions',
      summary: 'Slack interactivity: Approve/Deny buttons and TOTP modal submissions (signed by Slack, like the slash command)',
      tag: 'slack',
      auth: 'none',
      before: [rawBody],
      responses,
      handler: receive('interaction'),
    }),
  ];
}
