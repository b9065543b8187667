// A small typed client for the Firebreak REST API. Every non-GET request carries the session's CSRF token
// and a JSON body. Failures become ApiError, which carries the server's message and per-field messages.
import type {
  ApiKey,
  Incident,
  Integration,
  Mode,
  Role,
  Scope,
  Session,
  Severity,
  Status,
  StatusCategory,
  TimelineItem,
  User,
} from './types.js';

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];

  constructor(status: number, code: string, message: string, fields: FieldError[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** The message for one input, if the server gave one ("severity_id", or a nested path like "scopes.0"). */
  field(path: string): string | undefined {
    return this.fields.find((f) => f.path === path || f.path.startsWith(`${path}.`))?.message;
  }
}

let csrfToken: string | null = null;
const signedOutListeners = new Set<() => void>();

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when any request answers 401: the session has ended (expired, signed out in another tab). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseFields(details: unknown): FieldError[] {
  if (!isRecord(details) || !Array.isArray(details.fields)) return [];
  const out: FieldError[] = [];
  for (const f of details.fields) {
    if (isRecord(f) && typeof f.message === 'string') {
      out.push({ path: typeof f.path === 'string' ? f.path : '', message: f.message });
    }
  }
  return out;
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON (a proxy error page, for instance)
  }
  const err = isRecord(body) && isRecord(body.error) ? body.error : null;
  if (err && typeof err.message === 'string') {
    return new ApiError(res.status, typeof err.code === 'string' ? err.code : 'error', err.message, parseFields(err.details));
  }
  return new ApiError(res.status, 'http_error', `The server answered ${res.status} ${res.statusText}.`.replace(' .', '.'));
}

type Query = Record<string, string | number | readonly string[] | null | undefined>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length > 0) params.set(k, v.join(','));
    } else {
      params.set(k, String(v));
    }
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    if (csrfToken) headers['x-csrf-token'] = csrfToken;
    init.body = JSON.stringify(body ?? {});
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the Firebreak server. Check your connection and try again.');
  }
  if (!res.ok) {
    const error = await toApiError(res);
    if (res.status === 401 && !opts.quiet401) for (const l of signedOutListeners) l();
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'bad_response', 'The server sent an answer the app could not read. Try reloading the page.');
  }
}

const get = <T>(path: string, query?: Query) => request<T>('GET', withQuery(path, query));
const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);
const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
const del = (path: string) => request<void>('DELETE', path, {});
const seg = encodeURIComponent;

export interface IncidentFilters {
  status_category?: readonly StatusCategory[];
  severity_id?: string;
  mode?: Mode;
  limit?: number;
  cursor?: string;
}

export interface DeclareInput {
  name: string;
  summary?: string;
  severity_id: string;
  mode: Mode;
  triage: boolean;
  idempotency_key: string;
}

export const api = {
  /** The signed-in person, or null when nobody is signed in. */
  async session(): Promise<Session | null> {
    try {
      return await request<Session>('GET', '/api/v1/session', undefined, { quiet401: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  },
  /** Ends the session. The answer's body (if any) does not matter, only that the server took it. */
  async logout(): Promise<void> {
    const res = await fetch('/auth/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(csrfToken ? { 'x-csrf-token': csrfToken } : {}) },
      body: '{}',
    });
    if (!res.ok && res.status !== 401) throw await toApiError(res);
  },

  severities: () => get<{ severities: Severity[] }>('/api/v1/severities').then((r) => r.severities),
  createSeverity: (input: { name: string; description: string }) =>
    post<{ severity: Severity }>('/api/v1/severities', input).then((r) => r.severity),
  updateSeverity: (id: string, input: { name?: string; description?: string; rank?: number }) =>
    patch<{ severity: Severity }>(`/api/v1/severities/${seg(id)}`, input).then((r) => r.severity),
  deleteSeverity: (id: string) => del(`/api/v1/severities/${seg(id)}`),

  statuses: () => get<{ statuses: Status[] }>('/api/v1/statuses').then((r) => r.statuses),

  incidents: (filters: IncidentFilters) =>
    get<{ incidents: Incident[]; next_cursor: string | null }>('/api/v1/incidents', { ...filters }),
  incident: (idOrRef: string) => get<{ incident: Incident }>(`/api/v1/incidents/${seg(idOrRef)}`).then((r) => r.incident),
  declare: (input: DeclareInput) => post<{ incident: Incident }>('/api/v1/incidents', input).then((r) => r.incident),
  updateIncident: (id: string, input: { name?: string; summary?: string }) =>
    patch<{ incident: Incident }>(`/api/v1/incidents/${seg(id)}`, input).then((r) => r.incident),
  action: (id: string, action: string, body: Record<string, unknown> = {}) =>
    post<{ incident: Incident }>(`/api/v1/incidents/${seg(id)}/actions/${seg(action)}`, body).then((r) => r.incident),
  timeline: (id: string) => get<{ items: TimelineItem[] }>(`/api/v1/incidents/${seg(id)}/timeline`).then((r) => r.items),
  addNote: (id: string, text: string) =>
    post<{ item: TimelineItem }>(`/api/v1/incidents/${seg(id)}/timeline/notes`, { text }).then((r) => r.item),

  users: () => get<{ users: User[] }>('/api/v1/users').then((r) => r.users),
  createUser: (input: { name: string; email: string; role: Role }) =>
    post<{ user: User }>('/api/v1/users', input).then((r) => r.user),
  updateUser: (id: string, input: { name?: string; role?: Role }) =>
    patch<{ user: User }>(`/api/v1/users/${seg(id)}`, input).then((r) => r.user),
  loginLink: (id: string) => post<{ url: string; expires_at: string }>(`/api/v1/users/${seg(id)}/login_link`, {}),

  apiKeys: () => get<{ api_keys: ApiKey[] }>('/api/v1/api_keys').then((r) => r.api_keys),
  createApiKey: (input: { name: string; scopes: Scope[] }) =>
    post<{ api_key: ApiKey; token: string }>('/api/v1/api_keys', input),
  revokeApiKey: (id: string) => del(`/api/v1/api_keys/${seg(id)}`),

  integrations: () => get<{ integrations: Integration[] }>('/api/v1/integrations').then((r) => r.integrations),
};
