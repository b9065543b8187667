// The REST API's shapes (/api/v1) under the names the web app uses. Each is taken from the types generated from
// the server's OpenAPI document (api/schema.d.ts, `npm run api:types`), so a change to a route's schema shows
// up here as a type error instead of a page that silently reads a missing field.
import type { Ok } from './api/operations.js';

/** Every value of the union T, in the order the UI shows them; the compiler refuses a list that misses one. */
function everyOf<T extends string>() {
  return <const L extends readonly T[]>(list: L & ([Exclude<T, L[number]>] extends [never] ? unknown : { missing: Exclude<T, L[number]> })): readonly T[] => list;
}

export type Session = Ok<'/api/v1/session', 'get'>;

export type User = Ok<'/api/v1/users', 'get'>['users'][number];
export type Role = User['role'];
export const ROLES = everyOf<Role>()(['owner', 'admin', 'responder', 'viewer']);

export type Severity = Ok<'/api/v1/severities', 'get'>['severities'][number];

export type Incident = Ok<'/api/v1/incidents/{id}', 'get'>['incident'];
export type StatusCategory = Incident['status']['category'];
export const STATUS_CATEGORIES = everyOf<StatusCategory>()(['triage', 'live', 'closed', 'declined', 'merged', 'canceled']);
export type Mode = Incident['mode'];
export const MODES = everyOf<Mode>()(['standard', 'test', 'retrospective']);
export type Actor = Incident['creator'];
export type AvailableAction = Incident['available_actions'][number];

export type TimelineItem = Ok<'/api/v1/incidents/{id}/timeline', 'get'>['items'][number];

export type ApiKey = Ok<'/api/v1/api_keys', 'get'>['api_keys'][number];
export type Scope = ApiKey['scopes'][number];
export const SCOPES = everyOf<Scope>()(['read', 'write', 'admin']);

export type Integration = Ok<'/api/v1/integrations', 'get'>['integrations'][number];
