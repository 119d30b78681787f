// The console's one way to the API: same origin, a bearer token kept in memory only (never in
// localStorage, where any script of the origin could read it after the page closed), JSON in
// and out, every refusal an ApiError with the server's code, message and field.

import { ApiError, errorOf } from './errors';

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

export interface Answer<T> {
  body: T;
  /** X-Log-Position: the log position the body reflects (0 when absent). */
  position: number;
}

let token = '';

export function setToken(t: string): void {
  token = t;
}

export function currentToken(): string {
  return token;
}

/** Called when the server refuses the token (401): the shell shows the sign-in again. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(f: () => void): void {
  onUnauthorized = f;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token !== '') headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'UNREACHABLE', `the server did not answer: ${String(e)}`);
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !path.endsWith('/auth/login')) onUnauthorized();
    throw errorOf(res.status, parsed);
  }
  return { body: parsed as T, position: Number(res.headers.get('X-Log-Position') ?? 0) || 0 };
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);

/** Every item of a list, page after page; the position is the first page's. */
export async function getAll<T>(path: string): Promise<Answer<T[]>> {
  const items: T[] = [];
  let position = 0;
  let pageToken = '';
  for (let pages = 0; pages < 1000; pages++) {
    const sep = path.includes('?') ? '&' : '?';
    const url = `${path}${sep}limit=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
    const a = await get<Page<T>>(url);
    if (pages === 0) position = a.position;
    items.push(...a.body.items);
    pageToken = a.body.nextPageToken;
    if (!pageToken) break;
  }
  return { body: items, position };
}
