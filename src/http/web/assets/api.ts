// Calls the /api/v1 routes on the cookie session: the CSRF token header on every state change,
// one refresh when the access token has lapsed, and one error shape for the pages to show.

export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function csrfToken(): string {
  const cookie = document.cookie.split('; ').find((c) => c.startsWith('stint_csrf='));
  return cookie ? decodeURIComponent(cookie.slice('stint_csrf='.length)) : '';
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

async function send(method: Method, path: string, body: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
}

export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let res = await send(method, path, body);
  if (res.status === 401 && !path.startsWith('/api/v1/auth/')) {
    const failure = await res.clone().json().catch(() => null);
    // Only a lapsed session is worth a refresh; a wrong TOTP code must not be sent twice.
    if (failure?.error?.code === 'token_invalid' && (await send('POST', '/api/v1/auth/refresh', {})).ok) res = await send(method, path, body);
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    throw new ApiFailure(res.status, data?.error?.code ?? 'error', data?.error?.message ?? `The server answered ${res.status}`, data?.error?.details);
  }
  return data as T;
}

export interface Me {
  id: string;
  username: string;
  displayName: string;
  roles: string[];
}

/** The signed-in technician, or off to the login page. */
export async function requireSession(): Promise<Me> {
  try {
    return await api<Me>('GET', '/api/v1/me');
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) {
      location.assign('/app/login');
      return new Promise(() => {});
    }
    throw error;
  }
}
