import type { IncidentsService } from '../../incidents/incidents.service.js';
import type { Db } from '../../platform/db/index.js';
import type { Actor } from '../../platform/events.js';
import type { Step, StepType } from '../model.js';
import type { WorkflowEscalationPort, WorkflowSlackPort } from '../ports.js';

// What a step sees. `resolve` turns the step as written into what it would do to this incident, with names (pure
// apart from look-ups: preview and runs share it); `execute` does it, given those inputs and an idempotency key
// that stays the same across retries and restarts.

export interface ResolveContext {
  incident: { id: string; reference: string; name: string; severity: { id: string; name: string; rank: number } };
  run: { id: string | null; workflowId: string; workflowName: string };
  /** Evaluates an expression of the shared language (with `item` and `inputs` bound), JSON out. */
  evaluate(source: string): Promise<unknown>;
  /** Fills `{{ expression }}` parts in. */
  render(template: string): Promise<string>;
  /** Catalog entries (JSON {id, name, type}) → their external ids, e.g. PagerDuty ids. */
  externalIds(entryIds: string[]): Promise<Map<string, { externalId: string; name: string; type: string }>>;
  escalation: WorkflowEscalationPort | null;
  slack: WorkflowSlackPort | null;
  incidents: IncidentsService;
  db: Db;
}

export interface ExecuteContext {
  incidentId: string;
  actor: Actor;
  idempotencyKey: string;
  workflowId: string;
  runId: string;
  escalation: WorkflowEscalationPort | null;
  slack: WorkflowSlackPort | null;
  incidents: IncidentsService;
  /** The per-workflow HTTP signing secret, or null. */
  secret(): Promise<string | null>;
  signal?: AbortSignal;
}

export interface Resolved {
  inputs: Record<string, unknown>;
  would: string;
}

export interface StepKind<S extends Step = Step> {
  resolve(step: S, ctx: ResolveContext): Promise<Resolved>;
  execute(inputs: Record<string, unknown>, ctx: ExecuteContext): Promise<Record<string, unknown>>;
}

export type StepKinds = { [T in StepType]: StepKind<Extract<Step, { type: T }>> };

/** A value from an expression as a list (one value = a list of one; null = empty). */
export function asList(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function isEntry(v: unknown): v is { id: string; name: string; type: string } {
  return !!v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string' && typeof (v as { type?: unknown }).type === 'string';
}

export function quote(text: string, max = 80): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return `'${t.length > max ? `${t.slice(0, max - 1)}…` : t}'`;
}

export function listWords(xs: string[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}
