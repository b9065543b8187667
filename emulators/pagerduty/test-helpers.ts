/** Small helpers shared by the emulator's own tests: a PagerDuty-style HTTP client and a webhook receiver. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PagerDutyEmulator } from './index.js';

export interface CallOptions {
  query?: Record<string, string | number | boolean | (string | number)[]>;
  body?: unknown;
  /** Raw body text (sent as-is, for malformed-input tests). */
  rawBody?: string;
  from?: string;
  key?: string | null;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  url: URL;
  requestHeaders: Record<string, string>;
}

export function buildUrl(base: string, path: string, query: CallOptions['query'] = {}): URL {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) for (const x of v) url.searchParams.append(k.endsWith('[]') ? k : `${k}[]`, String(x));
    else url.searchParams.append(k, String(v));
  }
  return url;
}

export async function pdCall(pd: PagerDutyEmulator, method: string, path: string, o: CallOptions = {}): Promise<CallResult> {
  const url = buildUrl(pd.baseUrl, path, o.query);
  const headers: Record<string, string> = { accept: 'application/vnd.pagerduty+json;version=2', ...o.headers };
  const key = o.key === undefined ? pd.fullAccessKey : o.key;
  if (key !== null) headers.authorization = `Token token=${key}`;
  if (o.from !== undefined) headers.from = o.from;
  let body: string | undefined;
  if (o.rawBody !== undefined) body = o.rawBody;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let json: unknown = undefined;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, url, requestHeaders: headers };
}

export interface ReceivedHook { headers: http.IncomingHttpHeaders; body: string; at: number }

/** A local webhook receiver; `respond` decides each answer (status, or 'hang' to never answer, 'destroy' to drop). */
export async function startReceiver(respond: (n: number, hook: ReceivedHook) => number | 'hang' | 'destroy' | Promise<number> = () => 200) {
  const received: ReceivedHook[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const hook = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(hook);
      const r = await respond(received.length, hook);
      if (r === 'hang') return;
      if (r === 'destroy') { req.socket.destroy(); return; }
      res.writeHead(r).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url, received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
