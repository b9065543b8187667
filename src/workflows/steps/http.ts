import { createHmac } from 'node:crypto';
import { StepUpstreamError } from '../ports.js';
import type { Step } from '../model.js';
import { quote, type StepKind } from './types.js';

type Http = Extract<Step, { type: 'http' }>;

// An HTTP request to another tool, signed with the workflow's secret: X-Firebreak-Timestamp (unix seconds) and
// X-Firebreak-Signature: v1=<hex hmac-sha256(secret, timestamp + "." + body)>, plus Idempotency-Key so a retried
// request can be recognised by the receiver.

export function signature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export const httpStep: StepKind<Http> = {
  async resolve(step, ctx) {
    const url = (await ctx.render(step.url)).trim();
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StepUpstreamError('http', `${JSON.stringify(url)} is not a URL`, 'invalid_url');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new StepUpstreamError('http', `Only http and https URLs can be called, not ${parsed.protocol}`, 'invalid_url');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.headers ?? {})) headers[k] = await ctx.render(v);
    const body = step.body !== undefined
      ? await ctx.render(step.body)
      : JSON.stringify({ workflow: { id: ctx.run.workflowId, name: ctx.run.workflowName }, run_id: ctx.run.id, incident: { id: ctx.incident.id, reference: ctx.incident.reference, name: ctx.incident.name, severity: ctx.incident.severity.name } });
    return { inputs: { method: step.method, url, headers, body }, would: `Send ${step.method} ${url} (signed) with ${quote(body, 100)}` };
  },
  async execute(inputs, ctx) {
    const secret = await ctx.secret();
    const body = inputs.body as string;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(inputs.headers as Record<string, string>), 'idempotency-key': ctx.idempotencyKey, 'x-firebreak-timestamp': timestamp };
    if (secret) headers['x-firebreak-signature'] = signature(secret, timestamp, body);
    let res: Response;
    try {
      res = await fetch(inputs.url as string, { method: inputs.method as string, headers, body, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new StepUpstreamError('http', `The request failed: ${(err as Error).message}`, 'network', null, true);
    }
    const text = (await res.text().catch(() => '')).slice(0, 2000);
    if (!res.ok) throw new StepUpstreamError('http', `${res.status} ${res.statusText}${text ? `: ${text.slice(0, 500)}` : ''}`, res.status, res.status, res.status >= 500 || res.status === 429);
    return { status: res.status, body: text.slice(0, 500) };
  },
};
