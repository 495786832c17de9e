// The slack context's only entrance: what the rest of Stint may use from it.
export { createSlackNotices, type SlackNotices } from './slack-notices.ts';
export { createSlackService, type ElevationUseCases, parseCommand, parseDuration, type SlackService } from './slack-service.ts';
