// The one place the dashboard talks to the Api: the key lives in sessionStorage (this browser tab's session only).

const keyStorage = 'ops.api_key';

export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  errors?: { name: string; reason: string }[];
}

export class ApiError extends Error {
  constructor(public readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(keyStorage);
}

export function storeKey(key: string | null): void {
  prefetched.clear();
  if (key) sessionStorage.setItem(keyStorage, key);
  else sessionStorage.removeItem(keyStorage);
}

export type Query = Record<string, string | number | boolean | string[] | undefined | null>;

export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(name, v));
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function request<T>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    throw new ApiError({ status: response.status, ...(parsed ?? {}) });
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, query?: Query, key?: string) => request<T>('GET', path + queryString(query), undefined, key),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body ?? {}),
  delete: <T>(path: string, query?: Query) => request<T>('DELETE', path + queryString(query)),
};

export interface Me {
  key_id: string;
  key_name: string;
  tenant_id: string;
  roles: string[];
  platform_admin: boolean;
}

// The server's clock: periods such as "last 3 months" are computed from it, not from this device's clock.
let serverOffsetMs: number | null = null;

export function noteServerTime(iso: string | undefined | null): void {
  if (!iso) return;
  const at = Date.parse(iso);
  if (!Number.isNaN(at)) serverOffsetMs = at - Date.now();
}

export function serverNow(): Date {
  return new Date(Date.now() + (serverOffsetMs ?? 0));
}

export function knowsServerTime(): boolean {
  return serverOffsetMs !== null;
}

/** Downloads a file from an authenticated GET and saves it under the name the server gives (or the fallback). */
export async function download(path: string, query: Query, fallbackName: string): Promise<void> {
  const key = storedKey();
  const response = await fetch(path + queryString(query), { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  if (!response.ok) {
    const text = await response.text();
    let problem: Problem = { status: response.status };
    try { problem = { status: response.status, ...JSON.parse(text) }; } catch { /* not JSON */ }
    throw new ApiError(problem);
  }
  const disposition = response.headers.get('content-disposition') ?? '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = name;
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export interface StreamEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * Reads a server-sent event stream with fetch() so the key travels in the Authorization header (EventSource cannot
 * send one, and a key in a URL ends up in logs). Resolves when the stream ends; rejects on a network or HTTP error.
 */
export async function readEventStream(path: string, lastEventId: string | null, onEvent: (event: StreamEvent) => void,
  onOpen: () => void, signal: AbortSignal): Promise<void> {
  const key = storedKey();
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  const response = await fetch(path, { headers, signal, cache: 'no-store' });
  if (!response.ok || !response.body) {
    let problem: Problem = { status: response.status };
    try { problem = { status: response.status, ...(await response.json()) }; } catch { /* not JSON */ }
    throw new ApiError(problem);
  }
  onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let current: StreamEvent = { event: 'message', data: '' };
  let hasData = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline: number;
    while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (hasData) onEvent(current);
        current = { event: 'message', data: '' };
        hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') current.event = text;
      else if (field === 'id') current.id = text;
      else if (field === 'data') { current.data = hasData ? `${current.data}\n${text}` : text; hasData = true; }
    }
  }
}

// A request started before the page that reads it is mounted (the Overview's stats, fetched alongside /v1/me).
const prefetched = new Map<string, Promise<unknown>>();

export function prefetch(path: string): void {
  if (!prefetched.has(path)) {
    const promise = api.get(path);
    promise.catch(() => undefined);
    prefetched.set(path, promise);
  }
}

/** The prefetched answer for this path (once), or null. */
export function takePrefetched<T>(path: string): Promise<T> | null {
  const promise = prefetched.get(path) as Promise<T> | undefined;
  prefetched.delete(path);
  return promise ?? null;
}
