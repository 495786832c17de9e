// The slack context's only entrance: what the rest of Stint may use from it.
export { parseCommand, parseDuration } from './command.ts';
export { createSlackNotices, type SlackNotices } from './slack-notices.ts';
export type { SlackAck, SlackElevationUseCases } from './slack-context.ts';
export { createSlackService, type SlackService } from './slack-service.ts';
