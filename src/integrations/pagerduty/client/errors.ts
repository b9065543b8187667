// Typed PagerDuty errors. The client's single `request` function maps every status and envelope into one of
// these, so no caller parses status codes.

export type PagerDutyErrorKind = 'invalid_key' | 'read_only_key' | 'forbidden' | 'not_found' | 'rate_limited' | 'server_error' | 'bad_request' | 'network' | 'payment_required';

export class PagerDutyError extends Error {
  constructor(
    readonly kind: PagerDutyErrorKind,
    message: string,
    readonly status: number | null,
    /** PagerDuty's error code from the envelope (2006, 2010, 2020, ...), when there was one. */
    readonly code: number | null = null,
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 401: the key is wrong, revoked, or belongs to the other service region. */
export class PagerDutyInvalidKeyError extends PagerDutyError {
  constructor(message = 'PagerDuty rejected this key', code: number | null = null) {
    super('invalid_key', message, 401, code);
  }
}

/** 403 on a write: the key is read-only. */
export class PagerDutyReadOnlyKeyError extends PagerDutyError {
  constructor(message = 'This PagerDuty key is read-only', code: number | null = null) {
    super('read_only_key', message, 403, code);
  }
}

export class PagerDutyForbiddenError extends PagerDutyError {
  constructor(message: string, code: number | null = null) {
    super('forbidden', message, 403, code);
  }
}

export class PagerDutyNotFoundError extends PagerDutyError {
  constructor(message: string, code: number | null = null) {
    super('not_found', message, 404, code);
  }
}

export class PagerDutyRateLimitedError extends PagerDutyError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super('rate_limited', message, 429, 2020);
  }
}

export class PagerDutyServerError extends PagerDutyError {
  constructor(message: string, status: number | null, code: number | null = null) {
    super('server_error', message, status, code);
  }
}

export class PagerDutyBadRequestError extends PagerDutyError {
  constructor(message: string, status: number, code: number | null, details: string[]) {
    super(status === 402 ? 'payment_required' : 'bad_request', message, status, code, details);
  }
}

/** Timeouts and dropped connections. */
export class PagerDutyNetworkError extends PagerDutyError {
  constructor(message: string) {
    super('network', message, null);
  }
}

/** Reads PagerDuty's error envelope defensively: `{error:{message,code,errors}}`, `{error:"text"}`, `errors` as a string, or not JSON at all. */
export function parseErrorBody(text: string): { message: string; code: number | null; details: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const t = text.trim().slice(0, 200);
    return { message: t || 'no body', code: null, details: [] };
  }
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!obj(body)) return { message: String(body).slice(0, 200), code: null, details: [] };
  const err = body.error;
  const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : typeof v === 'string' ? [v] : []);
  if (typeof err === 'string') return { message: err, code: null, details: strs(body.errors) };
  if (obj(err)) {
    return {
      message: typeof err.message === 'string' ? err.message : 'PagerDuty error',
      code: typeof err.code === 'number' ? err.code : typeof err.code === 'string' && /^\d+$/.test(err.code) ? Number(err.code) : null,
      details: strs(err.errors),
    };
  }
  return { message: typeof body.message === 'string' ? body.message : 'PagerDuty error', code: null, details: strs(body.errors) };
}
