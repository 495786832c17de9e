// Small DOM helpers: elements are built with textContent only (never HTML strings), errors are
// announced in an alert region and tied to the fields they concern.
import { ApiFailure, api, type Me } from './api.ts';

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  for (const child of children) if (child) el.append(child);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
}

/** Shows what went wrong: the message in the form's alert region, and marks the fields named. */
export function showError(form: HTMLFormElement, error: unknown): void {
  const region = form.querySelector<HTMLElement>('[role="alert"]');
  for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid');
  const message = error instanceof ApiFailure ? error.message : 'Something went wrong; try again.';
  if (region) {
    region.textContent = '';
    region.append(h('strong', {}, 'Not done: '), message);
    const issues = error instanceof ApiFailure ? (error.details?.issues as Array<{ path: string; message: string }> | undefined) : undefined;
    if (issues?.length) region.append(h('ul', {}, ...issues.map((i) => h('li', {}, `${i.path.replace(/^body\./, '')}: ${i.message}`))));
  }
  const fields = (error instanceof ApiFailure ? fieldsOf(error) : [])
    .map((name) => form.elements.namedItem(name))
    .filter((f): f is HTMLInputElement => f instanceof HTMLElement);
  for (const field of fields) field.setAttribute('aria-invalid', 'true');
  fields[0]?.focus();
}

function fieldsOf(error: ApiFailure): string[] {
  if (error.code.startsWith('mfa_')) return ['code'];
  const issues = (error.details?.issues as Array<{ path: string }> | undefined) ?? [];
  return issues.map((i) => i.path.split('.')[1] ?? '').filter(Boolean);
}

export function clearError(form: HTMLFormElement): void {
  const region = form.querySelector<HTMLElement>('[role="alert"]');
  if (region) region.textContent = '';
  for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid');
}

/** "1 h 04 min 09 s" style, for a countdown read out as text (not colour). */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return hours > 0 ? `${hours} h ${pad(minutes)} min ${pad(seconds)} s` : `${minutes} min ${pad(seconds)} s`;
}

export const formatTime = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

/** The header's signed-in name, the Approvals link for approvers, and Log out. */
export function setUpHeader(me: Me): void {
  byId('who').textContent = `${me.displayName} (${me.username})`;
  if (me.roles.includes('approver')) byId('nav-approvals').hidden = false;
  byId('logout').addEventListener('click', async () => {
    await api('POST', '/api/v1/auth/logout').catch(() => undefined);
    location.assign('/app/login');
  });
}

/** The code a form asks for, cleared after use: a TOTP code is good once. */
export function takeCode(form: HTMLFormElement): string {
  const input = form.elements.namedItem('code') as HTMLInputElement;
  const code = input.value.trim();
  input.value = '';
  return code;
}
