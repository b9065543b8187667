// A small typed client for the Firebreak REST API. Every non-GET request carries the session's CSRF token
// and a JSON body. Failures become ApiError, which carries the server's message and per-field messages.
import type { Body, MethodOf, Ok, Path, PathParam, QueryOf } from './api/operations.js';
import type { Session, StatusCategory } from './types.js';

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];
  /** The error's details as the server sent them (e.g. `{ incidents: 3 }` with a 409 `field_in_use`). */
  readonly details: unknown;

  constructor(status: number, code: string, message: string, fields: FieldError[] = [], details: unknown = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.details = details;
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
    return new ApiError(res.status, typeof err.code === 'string' ? err.code : 'error', err.message, parseFields(err.details), err.details ?? null);
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

type QueryValue = string | number | readonly string[] | null | undefined;

/** Everything a call needs besides method and path: `{…}` segments, query and body, as the operation declares them. */
export type CallOptions<P extends Path, M extends MethodOf<P>> = ([PathParam<P>] extends [never] ? { params?: undefined } : { params: Record<PathParam<P>, string> }) & {
  query?: { [K in keyof QueryOf<P, M>]?: QueryValue };
} & ([Body<P, M>] extends [never] ? { body?: undefined } : { body: Body<P, M> });

/**
 * One API operation, typed by its path and method as the OpenAPI document names them, so the answer's type is
 * the server's: `call('get', '/api/v1/incidents/{id}', { params: { id } })`. `{…}` segments are URL-encoded.
 */
export function call<P extends Path, M extends MethodOf<P>>(
  method: M,
  path: P,
  ...[options]: {} extends CallOptions<P, M> ? [CallOptions<P, M>?] : [CallOptions<P, M>]
): Promise<Ok<P, M>> {
  const params: Record<string, string> = options?.params ?? {};
  const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
  return request<Ok<P, M>>(method.toUpperCase(), withQuery(url, options?.query as Query | undefined), options?.body);
}

/** The list's filters; several status categories travel as one comma-separated value. */
export type IncidentFilters = Omit<QueryOf<'/api/v1/incidents', 'get'>, 'status_category'> & { status_category?: readonly StatusCategory[] };
export type DeclareInput = Body<'/api/v1/incidents', 'post'>;
/** The incident actions, each its own operation: accept, decline, merge, status, severity, close, cancel, lead. */
type ActionPath = Extract<Path, `/api/v1/incidents/{id}/actions/${string}`>;
export type ActionName = ActionPath extends `/api/v1/incidents/{id}/actions/${infer A}` ? A : never;
type ActionBodies = { [A in ActionName]: Body<`/api/v1/incidents/{id}/actions/${A}`, 'post'> };
export type ActionBody<A extends ActionName> = ActionBodies[A];

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

  severities: () => call('get', '/api/v1/severities').then((r) => r.severities),
  createSeverity: (body: Body<'/api/v1/severities', 'post'>) => call('post', '/api/v1/severities', { body }).then((r) => r.severity),
  updateSeverity: (id: string, body: Body<'/api/v1/severities/{id}', 'patch'>) =>
    call('patch', '/api/v1/severities/{id}', { params: { id }, body }).then((r) => r.severity),
  deleteSeverity: (id: string) => call('delete', '/api/v1/severities/{id}', { params: { id } }),

  statuses: () => call('get', '/api/v1/statuses').then((r) => r.statuses),

  incidents: (query: IncidentFilters) => call('get', '/api/v1/incidents', { query }),
  incident: (idOrRef: string) => call('get', '/api/v1/incidents/{id}', { params: { id: idOrRef } }).then((r) => r.incident),
  declare: (body: DeclareInput) => call('post', '/api/v1/incidents', { body }).then((r) => r.incident),
  updateIncident: (id: string, body: Body<'/api/v1/incidents/{id}', 'patch'>) =>
    call('patch', '/api/v1/incidents/{id}', { params: { id }, body }).then((r) => r.incident),
  /** Every action answers the incident as it is afterwards; the body is the one that action's operation takes. */
  action: <A extends ActionName>(id: string, action: A, body: ActionBody<A>) =>
    call('post', `/api/v1/incidents/{id}/actions/${action}` as ActionPath, { params: { id }, body } as CallOptions<ActionPath, 'post'>).then((r) => r.incident),
  timeline: (id: string) => call('get', '/api/v1/incidents/{id}/timeline', { params: { id } }).then((r) => r.items),
  addNote: (id: string, text: string) => call('post', '/api/v1/incidents/{id}/timeline/notes', { params: { id }, body: { text } }).then((r) => r.item),

  users: () => call('get', '/api/v1/users').then((r) => r.users),
  createUser: (body: Body<'/api/v1/users', 'post'>) => call('post', '/api/v1/users', { body }).then((r) => r.user),
  updateUser: (id: string, body: Body<'/api/v1/users/{id}', 'patch'>) => call('patch', '/api/v1/users/{id}', { params: { id }, body }).then((r) => r.user),
  loginLink: (id: string) => call('post', '/api/v1/users/{id}/login_link', { params: { id } }),

  apiKeys: () => call('get', '/api/v1/api_keys').then((r) => r.api_keys),
  createApiKey: (body: Body<'/api/v1/api_keys', 'post'>) => call('post', '/api/v1/api_keys', { body }),
  revokeApiKey: (id: string) => call('delete', '/api/v1/api_keys/{id}', { params: { id } }),

  integrations: () => call('get', '/api/v1/integrations').then((r) => r.integrations),
};
