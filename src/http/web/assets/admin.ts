// What the admin pages share: the tenants and technicians as the API presents them, and the kill
// switches (docs/security-model.md, Kill switches and the tenant freeze), each behind a confirmation that names what will end and a fresh TOTP code.
import { api } from './api.ts';
import { field, openCodeDialog } from './dom.ts';

export interface Tenant {
  id: string;
  displayName: string;
  timeZone: string;
  directory: { url: string; bindDn: string; baseDn: string; caCertificate: string };
  keepAccountsDisabled: boolean;
  slackChannel: string | null;
  driftMode: 'remove' | 'report';
  /** Set by the tenant kill switch: nothing starts there until an admin lifts it. */
  frozen: { at: string; by: string; reason: string | null } | null;
  /** Archived for good: no access, kept for the audit. */
  archived: { at: string; by: string } | null;
}

export interface Technician {
  id: string;
  username: string;
  displayName: string;
  email: string;
  roles: string[];
  approverTenants: string[];
  status: 'active' | 'suspended';
  identitySource: 'local' | 'ldap';
  mfaEnrolled: boolean;
  mfaLockedUntil: string | null;
}

interface KillOutcome {
  revoked: number;
  cancelled: number;
  stillRevoking: number;
}

const reasonField = (id: string) => field(id, 'Reason (recorded in the audit trail; optional)', { name: 'reason', maxlength: '500' });

function outcomeText(o: KillOutcome): string {
  return `${o.revoked} grant${o.revoked === 1 ? '' : 's'} ended, ${o.cancelled} request${o.cancelled === 1 ? '' : 's'} withdrawn${o.stillRevoking ? `, ${o.stillRevoking} still being revoked (the reconciler finishes them)` : ''}.`;
}

const bodyOf = (values: Record<string, string>, code: string) => ({
  code,
  ...(values.reason?.trim() ? { reason: values.reason.trim() } : {}),
});

export function killTenant(tenant: Tenant, statusEl: HTMLElement, done: () => Promise<void>): void {
  openCodeDialog({
    title: `Kill switch: ${tenant.displayName}`,
    warning: `Every grant in ${tenant.displayName} (${tenant.id}) ends now (those being activated too) and every request waiting for approval there is withdrawn. The tenant is then frozen: no request, approval or extension until an admin lifts the freeze with a fresh code.`,
    confirmLabel: `End all access in ${tenant.id}`,
    fields: [reasonField(`kill-reason-${tenant.id}`)],
    statusEl,
    async action(values, code) {
      const outcome = await api<KillOutcome>('POST', `/api/v1/tenants/${encodeURIComponent(tenant.id)}/kill-switch`, bodyOf(values, code));
      await done();
      return `Kill switch for ${tenant.id}: ${outcomeText(outcome)}`;
    },
  });
}

export function unfreezeTenant(tenant: Tenant, statusEl: HTMLElement, done: () => Promise<void>): void {
  openCodeDialog({
    title: `Lift the freeze: ${tenant.displayName}`,
    warning: `Requests, approvals and extensions in ${tenant.displayName} (${tenant.id}) become possible again. Grants the kill switch ended stay ended.`,
    confirmLabel: `Lift the freeze of ${tenant.id}`,
    statusEl,
    async action(_values, code) {
      await api<Tenant>('POST', `/api/v1/tenants/${encodeURIComponent(tenant.id)}/unfreeze`, { code });
      await done();
      return `The freeze of ${tenant.id} is lifted.`;
    },
  });
}

export function archiveTenant(tenant: Tenant, statusEl: HTMLElement, done: () => Promise<void>): void {
  openCodeDialog({
    title: `Archive: ${tenant.displayName}`,
    warning: `${tenant.displayName} (${tenant.id}) is frozen, every grant and waiting request in it ends, and it is archived for good: it grants no access again and its directory is no longer used. Its records stay for the audit. This cannot be undone.`,
    confirmLabel: `Archive ${tenant.id}`,
    fields: [reasonField(`archive-reason-${tenant.id}`)],
    statusEl,
    async action(values, code) {
      const outcome = await api<{ revoked: number; cancelled: number }>(
        'POST',
        `/api/v1/tenants/${encodeURIComponent(tenant.id)}/archive`,
        bodyOf(values, code),
      );
      await done();
      return `Archived ${tenant.id}: ${outcomeText({ ...outcome, stillRevoking: 0 })}`;
    },
  });
}

export function killTechnician(t: Technician, statusEl: HTMLElement, done: () => Promise<void>): void {
  openCodeDialog({
    title: `Kill switch: ${t.displayName}`,
    warning: `${t.displayName} (${t.username}) is suspended and signed out everywhere; every grant they hold ends now, in every tenant, and their waiting requests are withdrawn.`,
    confirmLabel: `Suspend ${t.username} and end their access`,
    fields: [reasonField(`kill-reason-${t.id}`)],
    statusEl,
    async action(values, code) {
      const outcome = await api<KillOutcome & { endedSessions: number }>(
        'POST',
        `/api/v1/technicians/${encodeURIComponent(t.id)}/kill-switch`,
        bodyOf(values, code),
      );
      await done();
      return `Kill switch for ${t.username}: suspended, ${outcome.endedSessions} session${outcome.endedSessions === 1 ? '' : 's'} ended, ${outcomeText(outcome)}`;
    },
  });
}

/** Every tenant (the tenants page); pickers elsewhere pass `open` and leave archived tenants out. */
export async function loadTenants(which: 'all' | 'open' = 'all'): Promise<Tenant[]> {
  const { tenants } = await api<{ tenants: Tenant[] }>('GET', '/api/v1/tenants');
  return which === 'all' ? tenants : tenants.filter((t) => !t.archived);
}
