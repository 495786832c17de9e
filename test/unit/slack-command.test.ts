// The `/stint` command line: verbs, durations and free-text justification.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand, parseDuration } from '../../src/services/slack/index.ts';

describe('slack command', () => {
  it('when durations are written like 30m, 2h, 1h30m or 1d, then they are read as seconds; anything else is not a duration', () => {
    assert.equal(parseDuration('30m'), 1800);
    assert.equal(parseDuration('2h'), 7200);
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('1d'), 86_400);
    assert.equal(parseDuration('45s'), 45);
    for (const word of ['', '0m', 'm', '30', 'printer', '1h-30m', '30M30']) assert.equal(parseDuration(word), null, word);
  });

  it('when a request names a duration, then the rest is the justification; without one, every word after the profile is', () => {
    assert.deepEqual(parseCommand('request Acme helpdesk 2h printer queue stuck'), {
      kind: 'request',
      tenant: 'acme',
      profile: 'helpdesk',
      durationSeconds: 7200,
      justification: 'printer queue stuck',
    });
    assert.deepEqual(parseCommand('  request acme helpdesk printer  queue '), {
      kind: 'request',
      tenant: 'acme',
      profile: 'helpdesk',
      durationSeconds: undefined,
      justification: 'printer queue',
    });
    assert.deepEqual(parseCommand('request acme helpdesk'), {
      kind: 'request',
      tenant: 'acme',
      profile: 'helpdesk',
      durationSeconds: undefined,
      justification: undefined,
    });
  });

  it('when the command is incomplete or unknown, then usage or help is the answer', () => {
    assert.equal(parseCommand('request acme').kind, 'usage');
    assert.equal(parseCommand('revoke').kind, 'usage');
    assert.deepEqual(parseCommand('revoke 1A2B3C4D'), { kind: 'revoke', id: '1a2b3c4d' });
    assert.deepEqual(parseCommand(''), { kind: 'help' });
    assert.deepEqual(parseCommand('list'), { kind: 'list' });
    assert.deepEqual(parseCommand('approve everything'), { kind: 'help', unknown: 'approve' });
  });
});
