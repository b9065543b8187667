import { randomBytes } from 'node:crypto';

// Several PagerDuty accounts (regions, acquisitions). The connection row of kind `pagerduty` is the first account,
// `default`, exactly as before there were several; each further account is a connection row `pagerduty:<id>` with
// its own key, region, bot, sync settings, request budget and webhook subscription.
//
// Catalog entries keep PagerDuty's ids as their external ids for the first account (nothing changes for existing
// set-ups); other accounts' entries are `<account>:<PagerDuty id>`. PagerDuty ids are letters and digits, so the
// colon never occurs in a first-account id and tells the two apart.

export const FIRST_ACCOUNT = 'default';
export const KIND = 'pagerduty';

/** The integration_connections kind (and catalog sync source, request-budget key) of an account. */
export function accountKind(accountId: string): string {
  return accountId === FIRST_ACCOUNT ? KIND : `${KIND}:${accountId}`;
}

/** The account of a connection kind, or null when the kind is not a PagerDuty account's. */
export function accountOfKind(kind: string): string | null {
  if (kind === KIND) return FIRST_ACCOUNT;
  return kind.startsWith(`${KIND}:`) ? kind.slice(KIND.length + 1) : null;
}

/** A short id for a new account (lower-case letters and digits). */
export function newAccountId(): string {
  return `a${randomBytes(5).toString('hex')}`;
}

export const ACCOUNT_ID = /^a[0-9a-f]{10}$/;

/** The catalog external id of a PagerDuty object of an account. */
export function pdKey(accountId: string, pagerDutyId: string): string {
  return accountId === FIRST_ACCOUNT ? pagerDutyId : `${accountId}:${pagerDutyId}`;
}

/** The account and PagerDuty id a catalog external id names. */
export function splitPdKey(key: string): { account: string; id: string } {
  const i = key.indexOf(':');
  return i < 0 ? { account: FIRST_ACCOUNT, id: key } : { account: key.slice(0, i), id: key.slice(i + 1) };
}

/** Whether a catalog external id belongs to the account. */
export function ownedBy(accountId: string, key: string): boolean {
  return splitPdKey(key).account === accountId;
}
