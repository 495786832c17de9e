// Small DOM helpers: elements are built with textContent only (never HTML strings), errors are
// announced in an alert region and tied to the fields they concern.
import { ApiFailure, api, type Me } from './api.ts';

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
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
    const issues =
      error instanceof ApiFailure ? (error.details?.issues as Array<{ path: string; message: string }> | undefined) : undefined;
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
  if (typeof error.details?.field === 'string') return [error.details.field];
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

/** The pages each role reaches, in the order the header lists them. */
const pageLinks: Array<{ href: string; label: string; roles: string[] }> = [
  { href: '/app/', label: 'My access', roles: ['technician'] },
  { href: '/app/approvals', label: 'Approvals', roles: ['approver'] },
  { href: '/app/audit', label: 'Audit', roles: ['auditor', 'admin'] },
  { href: '/app/reviews', label: 'Reviews', roles: ['auditor', 'admin'] },
  { href: '/app/admin/tenants', label: 'Tenants', roles: ['admin'] },
  { href: '/app/admin/technicians', label: 'Technicians', roles: ['admin'] },
  { href: '/app/admin/profiles', label: 'Profiles', roles: ['admin'] },
];

/** The first page my roles reach: where an auditor or admin without the technician role lands. */
export const homeOf = (me: Me) => pageLinks.find((l) => l.roles.some((r) => me.roles.includes(r)))?.href ?? '/app/';

/** The header: the pages my roles reach (the current one marked), my name, and Log out. */
export function setUpHeader(me: Me): void {
  byId('who').textContent = `${me.displayName} (${me.username})`;
  const links = pageLinks
    .filter((l) => l.roles.some((r) => me.roles.includes(r)))
    .map((l) => h('a', { href: l.href, ...(l.href === location.pathname ? { 'aria-current': 'page' } : {}) }, l.label));
  byId('nav').replaceChildren(...links);
  byId('logout').addEventListener('click', async () => {
    await api('POST', '/api/v1/auth/logout').catch(() => undefined);
    location.assign('/app/login');
  });
}

export interface CodeDialogOptions {
  title: string;
  /** What will happen, in words, read before confirming. */
  warning: string;
  confirmLabel: string;
  /** Extra fields before the TOTP code (their names are the keys of the values passed on). */
  fields?: HTMLElement[];
  /** Does the work; its answer is shown in `statusEl`. A thrown error stays in the dialog. */
  action(values: Record<string, string>, code: string): Promise<string>;
  statusEl: HTMLElement;
}

let dialogCount = 0;

/**
 * A modal confirmation asking for a fresh TOTP code (kill switches, MFA reset, extensions): focus
 * is kept inside while it is open, Escape cancels, and focus returns to the opener.
 */
export function openCodeDialog(opts: CodeDialogOptions): void {
  const n = ++dialogCount;
  const opener = document.activeElement as HTMLElement | null;
  const form = h(
    'form',
    { method: 'dialog' },
    h('div', { role: 'alert', class: 'error' }),
    ...(opts.fields ?? []),
    h('label', { for: `dialog-code-${n}` }, 'TOTP code'),
    h('input', {
      id: `dialog-code-${n}`,
      name: 'code',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      pattern: '[0-9]{6}',
      maxlength: '6',
      required: '',
    }),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', value: 'confirm' }, opts.confirmLabel),
      h('button', { type: 'button', class: 'secondary', 'data-close': '' }, 'Cancel'),
    ),
  );
  const dialog = h(
    'dialog',
    { 'aria-labelledby': `dialog-title-${n}` },
    h('h2', { id: `dialog-title-${n}` }, opts.title),
    h('p', { class: 'warning' }, opts.warning),
    form,
  );
  const close = () => {
    dialog.close();
    dialog.remove();
    opener?.focus();
  };
  form.querySelector('[data-close]')!.addEventListener('click', close);
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    close();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(form);
    const values: Record<string, string> = {};
    for (const [key, value] of new FormData(form)) if (key !== 'code') values[key] = String(value);
    const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]')!;
    submit.disabled = true;
    try {
      opts.statusEl.textContent = await opts.action(values, takeCode(form));
      close();
    } catch (error) {
      showError(form, error);
    } finally {
      submit.disabled = false;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  (form.querySelector('input, select, textarea') as HTMLElement | null)?.focus();
}

/** A labelled input for a dialog or form. */
export function field(id: string, label: string, attrs: Record<string, string> = {}, hint?: string): HTMLElement {
  const input = h('input', { id, name: attrs.name ?? id, ...attrs, ...(hint ? { 'aria-describedby': `${id}-hint` } : {}) });
  return h('div', {}, h('label', { for: id }, label), input, hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null);
}

/** The message of an API failure, for a status line. */
export const failureText = (error: unknown) =>
  `Not done: ${error instanceof ApiFailure ? error.message : 'something went wrong; try again.'}`;

/** The code a form asks for, cleared after use: a TOTP code is good once. */
export function takeCode(form: HTMLFormElement): string {
  const input = form.elements.namedItem('code') as HTMLInputElement;
  const code = input.value.trim();
  input.value = '';
  return code;
}
