// Reading back what a SIEM received: RFC 5424 lines as the private rsyslogd writes them, with a
// JSON or CEF body, parsed strictly so that a record cut short or run together fails the test.
import assert from 'node:assert/strict';

export interface ReceivedRecord {
  pri: number;
  msgid: string;
  seq: number;
  hash: string;
  body: string;
}

const line5424 = /^<(\d{1,3})>1 (\S+) (\S+) stint - (\S+) \[stint@32473 seq="(\d+)" hash="([0-9a-f]{64})"\] (.*)$/s;

export function parseSyslogLine(line: string): ReceivedRecord {
  const match = line5424.exec(line);
  assert.ok(match, `not a Stint RFC 5424 record: ${JSON.stringify(line.slice(0, 200))}`);
  return { pri: Number(match[1]), msgid: match[4]!, seq: Number(match[5]), hash: match[6]!, body: match[7]! };
}

/** A CEF record: its seven header fields (unescaped) and its extension as key → value (unescaped). */
export function parseCef(body: string): { header: string[]; extension: Record<string, string> } {
  const header: string[] = [];
  let rest = body;
  for (let i = 0; i < 7; i++) {
    const end = /(?<!\\)(?:\\\\)*\|/.exec(rest);
    assert.ok(end, `CEF header has fewer than 7 fields: ${body.slice(0, 200)}`);
    const cut = end.index + end[0].length - 1;
    header.push(rest.slice(0, cut).replace(/\\([\\|])/g, '$1'));
    rest = rest.slice(cut + 1);
  }
  assert.equal(header[0], 'CEF:0');
  const extension: Record<string, string> = {};
  const pair = /(?:^| )([A-Za-z0-9_]+)=((?:[^\\]|\\.)*?)(?= [A-Za-z0-9_]+=|$)/gs;
  let consumed = 0;
  for (const m of rest.matchAll(pair)) {
    assert.equal(m.index, consumed, `CEF extension has unparsed text at ${consumed}: ${rest.slice(consumed, consumed + 80)}`);
    consumed = m.index + m[0].length;
    extension[m[1]!] = m[2]!.replace(/\\(.)/gs, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
  }
  assert.equal(consumed, rest.length, 'the whole CEF extension parses as key=value pairs');
  return { header, extension };
}
