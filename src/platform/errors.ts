// Typed errors: the class says whose fault it is, which decides the HTTP status, the log level and what the
// person is told. Routes throw these; the HTTP layer turns them into `{ error: { code, message, details } }`.

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The caller sent something we cannot accept. */
export class ValidationError extends AppError {
  constructor(message: string, fields?: FieldError[]) {
    super(400, 'validation_failed', message, fields ? { fields } : undefined);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super(404, 'not_found', `${what} ${JSON.stringify(id)} was not found`);
  }
}

/** The request is valid but conflicts with the current state (e.g. an illegal status transition). */
export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(409, code, message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Sign in, or send an API key as "Authorization: Bearer <key>".') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

/** Something we depend on failed; not the caller's fault. */
export class UpstreamError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(502, 'upstream_failed', message, details);
  }
}
