import type { PdErrorBody } from './types.js';

/** An error that becomes a PagerDuty error response (status + PagerDuty's error envelope). */
export class PdError extends Error {
  constructor(readonly status: number, readonly body: PdErrorBody | { error: string }) {
    super(typeof body.error === 'string' ? body.error : body.error.message);
  }
}

export const pdError = (status: number, code: number, message: string, errors?: string[]): PdError =>
  new PdError(status, { error: errors ? { message, code, errors } : { message, code } });

export const invalidInput = (...errors: string[]) => pdError(400, 2001, 'Invalid Input Provided', errors);
export const notFound = () => pdError(404, 2100, 'Not Found');
export const unauthorized = () => pdError(401, 2006, 'Authentication failed');
export const accessDenied = () => pdError(403, 2010, 'Access Denied', ['Access Denied']);
export const rateLimited = () => pdError(429, 2020, 'Rate Limit Exceeded');
export const alreadyResolved = () => pdError(400, 1001, 'Incident Already Resolved');
export const alreadyAcknowledged = () => pdError(400, 1002, 'Incident Already Acknowledged');
