import { ExpressionCostError, ExpressionEvaluationError } from './errors.js';

// What one evaluation runs on: the data loaded for one incident (EvaluationContext, loaded by context.ts) and the
// per-run state (RunState): entries wrapped as CEL objects as they are reached, the path each was reached by, and
// the budget. cel-js evaluates synchronously, so the budget is enforced inside the evaluation: every AST node the
// evaluator runs (see `instrument`) and every catalog hop counts a step, the clock is read every 256 steps, and
// once over budget every further step throws, so nothing (not even `exists`, which swallows errors of single
// items) can keep it running.

export interface LoadedEntry {
  id: string;
  typeId: string;
  name: string;
  externalId: string;
  archived: boolean;
  url: string | null;
  attributes: Record<string, unknown>;
}

export interface EvaluationContext {
  /** The schema version the context was loaded under. */
  version: string;
  incident: {
    id: string;
    reference: string;
    name: string;
    summary: string;
    severity: { id: string; name: string; rank: number };
    status: { name: string; category: string };
    mode: string;
    lead: { name: string; email: string } | null;
    createdAt: string;
    updatedAt: string;
  };
  /** Custom field key → stored value (contracts §1: option ids, entry ids...). */
  customValues: Map<string, string | number | string[]>;
  actor: { kind: string; name: string | null; email: string | null };
  severities: { id: string; name: string; rank: number }[];
  entries: Map<string, LoadedEntry>;
  /** Entries known to be referenced but left unloaded by the context's bounds. */
  unloaded: Set<string>;
  /** Entry id → the references pointing at it (only for entries in `backlinksLoaded`). */
  backlinks: Map<string, { fromId: string; attributeId: string }[]>;
  backlinksLoaded: Set<string>;
  stats: { entries: number; depth: number; truncated: boolean; loadMs: number; queries: number };
}

export interface Visit {
  id: string;
  name: string;
  type: string;
  via: string;
}

export interface Budget {
  timeMs: number;
  /** Largest list (items) or string (characters) any step may produce. */
  maxItems: number;
  maxChars: number;
}

export const DEFAULT_BUDGET: Budget = { timeMs: 50, maxItems: 10_000, maxChars: 100_000 };

/** A catalog entry as a CEL value: one generated class per catalog type (environment.ts), reading through the run. */
export interface EntryObject {
  $s: RunState;
  $e: LoadedEntry;
  $via: string;
  $m: Record<string, unknown>;
}

export class RunState {
  steps = 0;
  stopped: Error | null = null;
  readonly visited: Visit[] = [];
  readonly wrappers = new Map<string, EntryObject>();
  private readonly startedAt = performance.now();
  private readonly deadline: number;

  constructor(
    readonly ctx: EvaluationContext,
    readonly ctorFor: (typeId: string) => (new (s: RunState, e: LoadedEntry, via: string) => EntryObject) | undefined,
    readonly typeNameOf: (typeId: string) => string,
    readonly budget: Budget,
  ) {
    this.deadline = this.startedAt + budget.timeMs;
  }

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** One unit of work; throws once over budget. */
  tick(): void {
    if (this.stopped) throw this.stopped;
    if ((++this.steps & 255) === 0 && performance.now() > this.deadline) this.stop();
  }

  stop(): never {
    this.stopped ??= new ExpressionCostError(`The expression ran past its time budget of ${this.budget.timeMs} ms and was stopped (after ${this.steps} steps).`, {
      limit: 'time',
      budget_ms: this.budget.timeMs,
      steps: this.steps,
    });
    throw this.stopped;
  }

  tooBig(what: 'list' | 'string', size: number): never {
    this.stopped ??= new ExpressionCostError(
      what === 'list' ? `The expression built a list of ${size} items; the limit is ${this.budget.maxItems}.` : `The expression built a string of ${size} characters; the limit is ${this.budget.maxChars}.`,
      { limit: 'result_size', max_items: this.budget.maxItems, max_chars: this.budget.maxChars },
    );
    throw this.stopped;
  }

  /** The CEL object for an entry, made the first time the run reaches it (recorded in `visited` with its path). */
  entry(id: string, via: string): EntryObject | undefined {
    this.tick();
    const have = this.wrappers.get(id);
    if (have) return have;
    const e = this.ctx.entries.get(id);
    if (!e) {
      if (this.ctx.unloaded.has(id)) this.beyondContext(via);
      return undefined; // a reference to an entry that no longer exists
    }
    const Ctor = this.ctorFor(e.typeId);
    if (!Ctor) return undefined; // its type was deleted since the expression was checked
    const w = new Ctor(this, e, via);
    this.wrappers.set(id, w);
    this.visited.push({ id: e.id, name: e.name, type: this.typeNameOf(e.typeId), via });
    return w;
  }

  entries(ids: unknown, via: string): EntryObject[] {
    const out: EntryObject[] = [];
    const seen = new Set<string>();
    for (const id of asIdList(ids)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const w = this.entry(id, via);
      if (w) out.push(w);
    }
    return out;
  }

  beyondContext(via: string): never {
    this.stopped ??= new ExpressionCostError(
      `The expression goes further into the catalog than one evaluation loads (${this.ctx.stats.entries} entries, ${this.ctx.stats.depth} hops): stopped at ${via}.`,
      { limit: 'context', entries: this.ctx.stats.entries, depth: this.ctx.stats.depth, at: via },
    );
    throw this.stopped;
  }

  /** Entries whose reference attribute `attributeId` (of type `sourceTypeId`) points at `target`. */
  backlinks(target: EntryObject, sourceTypeId: string, attributeId: string, via: string): EntryObject[] {
    this.tick();
    const id = target.$e.id;
    if (!this.ctx.backlinksLoaded.has(id)) this.beyondContext(via);
    const out: EntryObject[] = [];
    for (const b of this.ctx.backlinks.get(id) ?? []) {
      if (b.attributeId !== attributeId) continue;
      const from = this.ctx.entries.get(b.fromId);
      if (!from) {
        if (this.ctx.unloaded.has(b.fromId)) this.beyondContext(via);
        continue;
      }
      if (from.typeId !== sourceTypeId) continue;
      const w = this.entry(b.fromId, via);
      if (w) out.push(w);
    }
    return out;
  }
}

export function asIdList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string | number => typeof x === 'string' || typeof x === 'number').map(String);
  if (typeof v === 'string' && v) return [v];
  return [];
}

export function scalar(v: unknown, kind: 'string' | 'double' | 'bool'): string | number | boolean | undefined {
  if (v === null || v === undefined) return undefined;
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'double': {
      const n = typeof v === 'number' ? v : Number(v);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'bool':
      return typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined;
  }
}

/** The run in progress (evaluation is synchronous, one at a time per thread). */
let current: RunState | null = null;

export function currentRun(): RunState | null {
  return current;
}

export function withRun<T>(s: RunState, fn: () => T): T {
  const outer = current;
  current = s;
  try {
    return fn();
  } finally {
    current = outer;
  }
}

interface CelEvaluator {
  run(ast: unknown, ctx: unknown): unknown;
}

/**
 * Counts every AST node the environment's evaluator runs against the run's budget, and refuses oversized lists and
 * strings as they are made. cel-js gives no hook for this; its evaluator (an object of the environment, reached
 * once through a probe macro) calls `run` for every node, comprehension steps included, so an own `run` on that
 * object sees all of them.
 */
export function instrument(ev: CelEvaluator & { evaluate?: never }): void {
  const original = Object.getPrototypeOf(ev).run as CelEvaluator['run'];
  if (typeof original !== 'function') throw new Error('cel-js evaluator has no run(): cannot bound evaluation');
  ev.run = function run(this: CelEvaluator, ast: unknown, ctx: unknown): unknown {
    const s = current;
    if (s === null) return original.call(this, ast, ctx);
    s.tick();
    const r = original.call(this, ast, ctx);
    if (typeof r === 'string') {
      if (r.length > s.budget.maxChars) s.tooBig('string', r.length);
    } else if (Array.isArray(r) && r.length > s.budget.maxItems) s.tooBig('list', r.length);
    return r;
  };
}

export function evaluationFailed(message: string, position: { offset: number; line: number; column: number } | null, reason: string): ExpressionEvaluationError {
  return new ExpressionEvaluationError(message, { position, reason });
}
