import { DomainError } from './errors.ts';

export interface DirectoryConnection {
  url: string;
  bindDn: string;
  baseDn: string;
  /** PEM text of the CA certificate(s) that the domain controller's certificate must chain to. */
  caCertificate: string;
}

export interface Tenant {
  id: string;
  displayName: string;
  timeZone: string;
  directory: DirectoryConnection;
  /** Keep MSP accounts disabled between grants (docs/security-model.md, Access ends in the directory itself; on by default). */
  keepAccountsDisabled: boolean;
  /** The Slack channel where this tenant's approval requests are posted (e.g. C0123ABCD), if any. */
  slackChannel: string | null;
  /** What the reconciler does with a linked MSP account found in a managed group without a live grant (docs/security-model.md, Drift). */
  driftMode: DriftMode;
  /** When the weekly access review runs (docs/security-model.md, Access reviews): a cron pattern in the tenant's time zone. */
  reviewSchedule: string;
  /** An MSP account with no elevation and no logon for this many days is inactive. */
  inactiveDays: number;
  /** Reviews disable inactive MSP accounts (audited); off: they are only reported. */
  disableInactive: boolean;
  /** A request scoring at or above this needs approval and raises an alert (docs/security-model.md, Risk signals; 1–100, default 50). */
  riskThreshold: number;
  /** Set by the tenant kill switch (or an archive): no request, approval or extension until an admin lifts it. */
  frozen: TenantFreeze | null;
  /** An archived tenant grants nothing ever again; its records stay for the audit. Final. */
  archived: { at: Date; by: string } | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface TenantFreeze {
  at: Date;
  /** The admin who threw the kill switch (or archived the tenant). */
  by: string;
  reason: string | null;
}

/** A frozen or archived tenant starts nothing (docs/security-model.md, Kill switches and the tenant freeze) — no request, approval or extension. */
export function assertTenantOpen(tenant: Pick<Tenant, 'id' | 'frozen' | 'archived'>): void {
  if (tenant.archived) {
    throw new DomainError('tenant_archived', `Tenant ${tenant.id} is archived; it grants no access`, {
      tenantId: tenant.id,
      archivedAt: tenant.archived.at.toISOString(),
    });
  }
  if (tenant.frozen) {
    throw new DomainError('tenant_frozen', `Tenant ${tenant.id} is frozen by its kill switch; an admin must lift the freeze first`, {
      tenantId: tenant.id,
      frozenAt: tenant.frozen.at.toISOString(),
    });
  }
}

/** `remove`: take the account out of the group (the default); `report`: audit and alert only. */
export const driftModes = ['remove', 'report'] as const;
export type DriftMode = (typeof driftModes)[number];

export const tenantIdPattern = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

// ICU lists one name per zone, sometimes an older alias (Asia/Calcutta, not Asia/Kolkata), and
// leaves out UTC; it also accepts offsets ("+01:00") and any letter case, which are not zone names.
let icuZoneNames: ReadonlySet<string> | undefined;
const utcNames = /^(?:UTC|Etc\/(?:UTC|GMT(?:[+-](?:[1-9]|1[0-4]))?))$/;
const regionZoneName = /^(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)(?:\/[A-Z][A-Za-z0-9_+-]*)+$/;

function resolvedZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** A canonical IANA zone name, as written in the tz database: 'Europe/Berlin', 'UTC', 'Etc/GMT+5'. */
export function isValidTimeZone(timeZone: string): boolean {
  icuZoneNames ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (icuZoneNames.has(timeZone)) return true;
  const resolved = resolvedZone(timeZone);
  if (resolved === undefined) return false;
  if (utcNames.test(timeZone)) return true;
  // A region name ICU knows under another spelling (Asia/Kolkata → Asia/Calcutta); the same name
  // in another letter case is not another spelling.
  return regionZoneName.test(timeZone) && icuZoneNames.has(resolved) && resolved.toLowerCase() !== timeZone.toLowerCase();
}

/** `ldaps://` only; plain `ldap://` is refused in production mode (docs/security-model.md, Directory connections and sealed bind passwords). */
export function assertDirectoryUrlAllowed(url: string, production: boolean): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DomainError('validation_failed', 'The directory URL is not a valid URL', { field: 'directory.url' });
  }
  const secure = parsed.protocol === 'ldaps:';
  if (secure || (parsed.protocol === 'ldap:' && !production)) {
    if (parsed.hostname === '') throw new DomainError('validation_failed', 'The directory URL names no host', { field: 'directory.url' });
    return;
  }
  throw new DomainError(
    'directory_insecure',
    parsed.protocol === 'ldap:'
      ? 'Plain ldap:// is refused in production mode; use ldaps:// with the domain CA'
      : 'The directory URL must use ldaps://',
    { field: 'directory.url' },
  );
}

/** Where a bind password is sent: the server (scheme, host, port), the CA that vouches for it, and the account. */
function endpointKey(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port || (parsed.protocol === 'ldaps:' ? '636' : parsed.protocol === 'ldap:' ? '389' : '');
    return `${parsed.protocol}//${parsed.hostname.toLowerCase()}:${port}`;
  } catch {
    return url;
  }
}

/**
 * A stored bind password may be sent only to the endpoint it was given for (docs/security-model.md,
 * Directory connections and sealed bind passwords): a changed server, CA or bind DN needs the password again, or an admin could point
 * the tenant at a server of their choosing and have Stint hand it the stored password.
 */
export function changesPasswordEndpoint(before: DirectoryConnection, after: DirectoryConnection): boolean {
  return (
    endpointKey(before.url) !== endpointKey(after.url) ||
    before.caCertificate.trim() !== after.caCertificate.trim() ||
    before.bindDn !== after.bindDn
  );
}
