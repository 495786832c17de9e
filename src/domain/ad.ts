// Active Directory value encodings: SIDs and GUIDs from their binary form, FILETIME for
// accountExpires, and the userAccountControl bit that disables an account.

/** SID: revision, sub-authority count, 48-bit big-endian authority, then 32-bit little-endian sub-authorities. */
export function sidToString(bytes: Uint8Array): string {
  if (bytes.length < 8) throw new Error('a SID has at least 8 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes[1]!;
  if (bytes.length !== 8 + count * 4) throw new Error('SID length does not match its sub-authority count');
  let authority = 0;
  for (let i = 2; i < 8; i++) authority = authority * 256 + bytes[i]!;
  const parts = [`S-${bytes[0]}-${authority}`];
  for (let i = 0; i < count; i++) parts.push(String(view.getUint32(8 + i * 4, true)));
  return parts.join('-');
}

/** GUID: the first three fields are little-endian, the last 8 bytes as they are. */
export function guidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error('a GUID has 16 bytes');
  const hex = (i: number) => bytes[i]!.toString(16).padStart(2, '0');
  const seq = (idx: number[]) => idx.map(hex).join('');
  return `${seq([3, 2, 1, 0])}-${seq([5, 4])}-${seq([7, 6])}-${seq([8, 9])}-${seq([10, 11, 12, 13, 14, 15])}`;
}

export function guidToBytes(guid: string): Uint8Array {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error('not a GUID');
  const raw = Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Uint8Array.from(order.map((i) => raw[i]!));
}

export const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A member value that names an account by objectGUID (`<GUID=…>`, which AD and Samba accept in a
 * modify): it follows the account through moves and renames, so no DN needs resolving first.
 */
export function memberRefByGuid(guid: string): string {
  if (!guidPattern.test(guid)) throw new Error('not a GUID');
  return `<GUID=${guid.toLowerCase()}>`;
}

/**
 * A member value naming an account by its DN of record and its objectGUID (`<GUID=…>;DN`, the
 * extended-DN notation). The directory adapter removes it by DN, which Samba resolves about 1.5× as
 * fast as a GUID, falls back to the GUID when the DN no longer names a member, and always confirms
 * by GUID. The DN of record is refreshed by GUID in the minutes before a grant's end (reconciler),
 * so a rename or move during the grant costs only the fallback's time.
 */
export function memberRefWithDn(guid: string, dn: string): string {
  if (!guidPattern.test(guid)) throw new Error('not a GUID');
  return `<GUID=${guid.toLowerCase()}>;${dn}`;
}

/** What a member value names: a DN, a `<GUID=…>`, or both (memberRefWithDn). */
export function parseMemberRef(value: string): { guid: string | null; dn: string | null } {
  const match = /^<GUID=([0-9a-f-]{36})>(?:;(.+))?$/is.exec(value);
  if (!match || !guidPattern.test(match[1]!)) return { guid: null, dn: value };
  return { guid: match[1]!.toLowerCase(), dn: match[2] ?? null };
}

/** The GUID a `<GUID=…>` (or `<GUID=…>;DN`) member value names, lower case; null for a DN. */
export function guidFromMemberRef(value: string): string | null {
  return parseMemberRef(value).guid;
}

/** The last sub-authority of a domain SID (S-1-5-21-a-b-c-RID). */
export function ridOf(sid: string): number | null {
  const match = /^S-1-5-21-\d+-\d+-\d+-(\d+)$/.exec(sid);
  return match ? Number(match[1]) : null;
}

const filetimeEpochOffsetMs = 11_644_473_600_000n;

/** accountExpires / pwdLastSet: 100-nanosecond intervals since 1601-01-01 UTC, as a decimal string. */
export function toFileTime(at: Date): string {
  return ((BigInt(at.getTime()) + filetimeEpochOffsetMs) * 10_000n).toString();
}

export function fromFileTime(value: string): Date | null {
  if (value === '0' || value === '9223372036854775807') return null; // "never"
  return new Date(Number(BigInt(value) / 10_000n - filetimeEpochOffsetMs));
}

export const accountDisableFlag = 0x2;

export function withAccountEnabled(userAccountControl: number, enabled: boolean): number {
  return enabled ? userAccountControl & ~accountDisableFlag : userAccountControl | accountDisableFlag;
}

export function isAccountEnabled(userAccountControl: number): boolean {
  return (userAccountControl & accountDisableFlag) === 0;
}

/** A SID in its string form (S-1-<authority>-<sub-authority>…), any case. */
export const sidPattern = /^S-1-\d{1,14}(?:-\d{1,10}){1,15}$/i;

const dnSpecials = new Set([',', '+', '"', '\\', '<', '>', ';', '=', '#']);

/** One RDN value without its escapes (RFC 4514: `\,` and `\2C` alike), or null if malformed. */
function unescapeDnValue(raw: string): string | null {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      if (c === '"') return null; // quoted values (RFC 2253's older form) are not accepted here
      out += c;
      continue;
    }
    const pair = raw.slice(i + 1, i + 3);
    if (/^[0-9a-f]{2}$/i.test(pair)) {
      out += String.fromCharCode(parseInt(pair, 16));
      i += 2;
    } else if (i + 1 < raw.length && (dnSpecials.has(raw[i + 1]!) || raw[i + 1] === ' ')) {
      out += raw[++i]!;
    } else {
      return null;
    }
  }
  return out;
}

/** Splits on a separator that is not escaped. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      current += text[i]! + text[++i]!;
    } else if (text[i] === separator) {
      parts.push(current);
      current = '';
    } else {
      current += text[i]!;
    }
  }
  parts.push(current);
  return parts;
}

/** `type=value` in one canonical spelling: lower case, no surrounding spaces, one escape form. */
function normaliseAttributeValue(part: string): string | null {
  const at = part.indexOf('=');
  if (at <= 0) return null;
  const type = part.slice(0, at).trim().toLowerCase();
  const value = unescapeDnValue(part.slice(at + 1).trim());
  if (!/^[a-z][a-z0-9-]*$|^\d+(?:\.\d+)+$/.test(type) || value === null || value === '') return null;
  const escaped = [...value.toLowerCase()].map((c) => (dnSpecials.has(c) ? `\\${c}` : c)).join('');
  return `${type}=${escaped}`;
}

/**
 * The RDNs of a DN, leaf first, each in one canonical spelling (attribute types and values lower
 * case, as Active Directory compares them; spaces around separators dropped; escapes in one form;
 * the parts of a multi-valued RDN sorted), or null when it is not a DN.
 */
export function dnRdns(dn: string): string[] | null {
  if (dn.trim() === '') return null;
  const rdns: string[] = [];
  for (const rdn of splitUnescaped(dn, ',')) {
    const parts = splitUnescaped(rdn, '+').map(normaliseAttributeValue);
    if (parts.some((p) => p === null)) return null;
    rdns.push((parts as string[]).sort().join('+'));
  }
  return rdns;
}

/** The DN in its canonical spelling (dnRdns), or null when it is not a DN. */
export function normaliseDn(dn: string): string | null {
  return dnRdns(dn)?.join(',') ?? null;
}

/** Whether `dn` is strictly below `ancestor` (directly or at any depth), compared on canonical DNs; false if either is not a DN. */
export function isDnUnder(dn: string, ancestor: string): boolean {
  const child = dnRdns(dn);
  const parent = dnRdns(ancestor);
  if (!child || !parent || child.length <= parent.length) return false;
  const offset = child.length - parent.length;
  return parent.every((rdn, i) => child[offset + i] === rdn);
}
