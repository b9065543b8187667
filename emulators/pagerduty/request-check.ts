/**
 * Checks the requests a client sent to the emulator (its request log) against PagerDuty's official OpenAPI
 * document, with the contract suite's validator. The emulator accepts some requests PagerDuty would refuse; this
 * catches a client (Firebreak) sending them anyway. Only the request side is checked: the response is the
 * emulator's own, covered by the contract suite.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecValidator } from './spec-validator.js';
import type { RequestLogEntry } from './types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the official document lives (PAGERDUTY_SPEC_DIR overrides, as for the contract suite). */
export const specDir = process.env.PAGERDUTY_SPEC_DIR ?? path.resolve(repoRoot, '..', 'shared', 'pagerduty');
export const haveSpec = (): boolean => existsSync(path.join(specDir, 'rest-api-v2.openapi.json'));

let loading: Promise<SpecValidator> | null = null;
/** One validator per process (dereferencing the document takes a moment). */
export function sharedValidator(): Promise<SpecValidator> {
  loading ??= SpecValidator.load(specDir);
  return loading;
}

/** Every way each logged request breaks the spec, as `METHOD /path: problem` lines (empty = all conform). */
export function requestViolations(spec: SpecValidator, log: readonly RequestLogEntry[]): string[] {
  const out: string[] = [];
  for (const e of log) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(e.query)) for (const x of Array.isArray(v) ? v : [v]) query.append(k, x);
    const { request } = spec.validateParts({
      method: e.method,
      path: e.path,
      query,
      headers: e.headers,
      // The log stores no body as null; a JSON null body is not something a client sends.
      ...(e.body !== null ? { body: e.body } : {}),
      status: e.status,
      responseText: '',
    });
    const qs = query.toString();
    for (const problem of request) out.push(`${e.method} ${e.path}${qs ? `?${qs}` : ''} (at ${e.at}): ${problem}`);
  }
  return out;
}
