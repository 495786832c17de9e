// Calls the /api/v1 routes on the cookie session: the CSRF token header on every state change,
// one refresh when the access token has lapsed, and one error shape for the pages to show; also
// downloads (exports) on the same session.

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

/** Sends once; when the access token has lapsed, refreshes the session and sends again. */
async function sendOnSession(method: Method, path: string, body: unknown): Promise<Response> {
  let res = await send(method, path, body);
  if (res.status === 401 && !path.startsWith('/api/v1/auth/')) {
    const failure = await res
      .clone()
      .json()
      .catch(() => null);
    // Only a lapsed session is worth a refresh; a wrong TOTP code must not be sent twice.
    if (failure?.error?.code === 'token_invalid' && (await send('POST', '/api/v1/auth/refresh', {})).ok)
      res = await send(method, path, body);
  }
  return res;
}

async function failureOf(res: Response): Promise<ApiFailure> {
  const text = await res.text();
  let data: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  return new ApiFailure(
    res.status,
    data?.error?.code ?? 'error',
    data?.error?.message ?? `The server answered ${res.status}`,
    data?.error?.details,
  );
}

export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const res = await sendOnSession(method, path, body);
  if (!res.ok) throw await failureOf(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * A download (an export) fetched on the session, so a lapsed access token is refreshed first as for
 * any other call (a plain link cannot do that), then saved under the server's file name. The file is
 * held by the browser as a Blob (Chromium keeps large ones on disk) and handed over once complete.
 */
export async function download(path: string): Promise<{ filename: string; bytes: number }> {
  const res = await sendOnSession('GET', path, undefined);
  if (!res.ok) throw await failureOf(res);
  // `attachment; filename=stint-audit-1-5.ndjson` (quoted when the name needs it).
  const filename = /filename="?([^";]+)"?/i.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'stint-export';
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken its copy once the click is handled; the URL is not needed after that.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { filename, bytes: blob.size };
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
