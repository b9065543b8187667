import { createHmac, timingSafeEqual } from 'node:crypto';

// PagerDuty webhooks v3 signatures: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of the raw body
// keyed by the subscription secret. Several values appear while a secret rotates; any `v1` may match. Every
// candidate is compared against every secret in constant time.

export function signaturesIn(header: string | undefined): Buffer[] {
  if (!header) return [];
  const out: Buffer[] = [];
  for (const part of header.split(',')) {
    const m = /^\s*v1=([0-9a-fA-F]{64})\s*$/.exec(part);
    if (m) out.push(Buffer.from(m[1]!.toLowerCase(), 'hex'));
  }
  return out;
}

export function verifySignature(raw: Buffer, header: string | undefined, secrets: string[]): boolean {
  const given = signaturesIn(header);
  if (given.length === 0 || secrets.length === 0) return false;
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(raw).digest();
    // No early exit: the time taken does not depend on which candidate matched.
    for (const g of given) if (timingSafeEqual(g, expected)) ok = true;
  }
  return ok;
}

export function sign(raw: string | Buffer, secret: string): string {
  return `v1=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}
