// Stint's syslog wire format: RFC 5424 with octet-counting frames (lengths in bytes), JSON and CEF
// bodies escaped so that no data can end a record early or forge another.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainAuditEvent, genesisHash, type AuditEvent } from '../../src/domain/audit.ts';
import { cefHeader, cefValue, octetCountedFrame, syslogMessage } from '../../src/adapters/siem/format.ts';
import { parseCef, parseSyslogLine } from '../support/syslog-records.ts';

const identity = { hostname: 'stint-test', facility: 13, version: '0.1.0' };
const forged = 'ok\n<109>1 2026-01-01T00:00:00.000Z evil stint - auth.login.succeeded [stint@32473 seq="999"] {"seq":999}\r\n99 <13>1 x';

function event(details: Record<string, unknown>, action: AuditEvent['action'] = 'elevation.requested'): AuditEvent {
  return chainAuditEvent(
    { actor: 'tech-1', action, tenantId: 'acme|corp', target: 'e=1', details },
    7,
    genesisHash,
    new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
  );
}

describe('syslog wire format', () => {
  it('when a message holds multibyte text, then the frame length counts its UTF-8 bytes, not its characters', () => {
    const message = 'é日本😀';
    const frame = octetCountedFrame(message);
    assert.equal(message.length, 5);
    assert.equal(frame.toString('utf8'), `12 ${message}`); // 2 + 3 + 3 + 4 bytes
    const framed = octetCountedFrame(syslogMessage(event({ profile: 'café 日本 🚀' }), 'json', identity));
    const space = framed.indexOf(0x20);
    assert.equal(Number(framed.subarray(0, space).toString('ascii')), framed.length - space - 1);
  });

  it('when details hold line breaks, then neither a JSON nor a CEF record contains a raw CR or LF, and the text survives', () => {
    const details = { profile: 'p', durationSeconds: 60, justification: forged, ticket: 'T|1 cs1=evil \\ end', approvalsRequired: 0 };
    for (const format of ['json', 'cef'] as const) {
      const message = syslogMessage(event(details), format, identity);
      assert.ok(!/[\r\n]/.test(message), `${format} record has a raw line break`);
      const record = parseSyslogLine(message);
      assert.equal(record.seq, 7);
      assert.equal(record.msgid, 'elevation.requested');
      assert.equal(record.pri, 13 * 8 + 5);
      const received = format === 'json' ? JSON.parse(record.body).details : JSON.parse(parseCef(record.body).extension.cs4!);
      assert.deepEqual(received, details);
    }
  });

  it('when CEF fields hold the special characters, then they are escaped as the CEF specification says', () => {
    assert.equal(cefHeader('a|b\\c\nd'), 'a\\|b\\\\c d');
    assert.equal(cefValue('a=b\\c\nd\r\ne\rf|g'), 'a\\=b\\\\c\\nd\\ne\\rf|g');
    const { header, extension } = parseCef(syslogMessage(event({ reason: 'x' }, 'elevation.revoking'), 'cef', identity).split('] ')[1]!);
    assert.deepEqual(header, ['CEF:0', 'Stint', 'Stint', '0.1.0', 'elevation.revoking', 'elevation.revoking', '3']);
    assert.equal(extension.cs1, 'acme|corp');
    assert.equal(extension.cs2, 'e=1');
    assert.equal(extension.externalId, '7');
    assert.equal(extension.rt, String(Date.UTC(2026, 0, 2, 3, 4, 5, 6)));
  });

  it('when an action is a failure or refusal, then it is sent as a warning; others as notices', () => {
    assert.equal(
      parseSyslogLine(syslogMessage(event({ username: 'u', reason: 'bad_password' }, 'auth.login.failed'), 'json', identity)).pri,
      13 * 8 + 4,
    );
    assert.equal(
      parseSyslogLine(syslogMessage(event({ stage: 'password', identitySource: 'local' }, 'auth.login.succeeded'), 'json', identity)).pri,
      13 * 8 + 5,
    );
  });
});
