// What the admin pages share: the tenants and technicians as the API presents them, and the kill
// switches (SPEC §3.8), each behind a confirmation that names what will end and a fresh TOTP code.
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

const bodyOf = (values: Record<string, string>, code: string) => ({ code, ...(values.reason?.trim() ? { reason: values.reason.trim() } : {}) });

export function killTenant(tenant: Tenant, statusEl: HTMLElement, done: () => Promise<void>): void {
  openCodeDialog({
    title: `Kill switch: ${tenant.displayName}`,
    warning: `Every active grant in ${tenant.displayName} (${tenant.id}) ends now and every request waiting for approval there is withdrawn. This cannot be undone.`,
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

export function killTechnician(t: Technician, statusEl: HTMLElement, done: () => Promise<void>): void {
  openCodeDialog({
    title: `Kill switch: ${t.displayName}`,
    warning: `${t.displayName} (${t.username}) is suspended and signed out everywhere; every grant they hold ends now, in every tenant, and their waiting requests are withdrawn.`,
    confirmLabel: `Suspend ${t.username} and end their access`,
    fields: [reasonField(`kill-reason-${t.id}`)],
    statusEl,
    async action(values, code) {
      const outcome = await api<KillOutcome & { endedSessions: number }>('POST', `/api/v1/technicians/${encodeURIComponent(t.id)}/kill-switch`, bodyOf(values, code));
      await done();
      return `Kill switch for ${t.username}: suspended, ${outcome.endedSessions} session${outcome.endedSessions === 1 ? '' : 's'} ended, ${outcomeText(outcome)}`;
    },
  });
}

export async function loadTenants(): Promise<Tenant[]> {
  return (await api<{ tenants: Tenant[] }>('GET', '/api/v1/tenants')).tenants;
}
