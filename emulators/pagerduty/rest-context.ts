/**
 * What every REST route of the emulator shares: the request context a handler gets, its result, and PagerDuty's
 * classic offset pagination. Apart from rest.ts so route modules (change-events.ts) and the server import it
 * without importing the route table.
 */
import { invalidInput } from './errors.js';
import type { UserRecord } from './types.js';

export interface Query {
  get(name: string): string | undefined;
  list(name: string): string[];
  has(name: string): boolean;
}

export interface RestContext {
  method: string;
  params: string[];
  query: Query;
  /** Parsed JSON body; throws PagerDuty's 400 when the body is not JSON. */
  body(): unknown;
  /** The user named by the `From` header; throws PagerDuty's 400 when missing, malformed or unknown. */
  fromUser(): UserRecord;
}

export interface RestResult { status: number; body?: unknown; /** Pre-serialised JSON body (takes precedence over body). */ raw?: string | Buffer }

/** Classic offset pagination: default 25, max 100, `offset + limit <= 10000`, `total` only when asked for. */
export function paginate<T, R>(q: Query, items: readonly T[], key: string, map: (x: T) => R): RestResult {
  const { limit, offset } = pageParams(q);
  const page = items.slice(offset, offset + limit).map(map);
  return { status: 200, body: { [key]: page, limit, offset, more: offset + limit < items.length, total: wantsTotal(q) ? items.length : null } };
}

/** Like paginate, but each item is already JSON text (cached serialisations of catalog objects). */
export function paginateJson<T>(q: Query, items: readonly T[], key: string, toJson: (x: T) => string, pageCache?: (cacheKey: string, build: () => string) => Buffer): RestResult {
  const { limit, offset } = pageParams(q);
  const total = wantsTotal(q) ? items.length : null;
  const build = () => {
    const page = items.slice(offset, offset + limit).map(toJson);
    return `{"${key}":[${page.join(',')}],"limit":${limit},"offset":${offset},"more":${offset + limit < items.length},"total":${total}}`;
  };
  return { status: 200, raw: pageCache ? pageCache(`${key}|${offset}|${limit}|${total}`, build) : build() };
}

function pageParams(q: Query): { limit: number; offset: number } {
  const parse = (name: string, dflt: number) => {
    const raw = q.get(name);
    if (raw === undefined || raw === '') return dflt;
    if (!/^-?\d+$/.test(raw)) throw invalidInput(`${name[0]!.toUpperCase()}${name.slice(1)} must be an integer.`);
    return Number(raw);
  };
  let limit = parse('limit', 25);
  const offset = parse('offset', 0);
  if (limit < 1) throw invalidInput('Limit must be greater than 0.');
  if (offset < 0) throw invalidInput('Offset must be greater than or equal to 0.');
  limit = Math.min(limit, 100);
  if (offset + limit > 10_000) throw invalidInput('Offset + limit must be less than or equal to 10000.');
  return { limit, offset };
}
const wantsTotal = (q: Query) => q.get('total') === 'true';
