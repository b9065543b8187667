import { Document, LineCounter, parseAllDocuments } from 'yaml';
import { AppError } from '../platform/errors.js';
import type { Actor } from '../platform/events.js';
import { checkWorkflow, WorkflowError, zodToWorkflowError } from './check.js';
import { workflowDefinitionSchema, type WorkflowDefinition } from './model.js';
import type { WorkflowsService } from './service.js';
import { canonicalDefinition, definitionWithState } from './store.js';

// Workflows as code (docs/workflows.md): export writes one YAML document per workflow, the definition as people
// write it (keys in the schema's order, with its state); apply reads documents (one or several files), checks each
// like the API does, works out a plan (create / update / unchanged, delete with prune) and, unless it is a dry run,
// writes all of it in one transaction. Export → apply → export gives the same text.

export interface Position {
  line: number;
  column: number;
}

export class WorkflowDocumentError extends AppError {
  constructor(message: string, details: { file: string; document: number | null; path: string | null; position: Position | null; [k: string]: unknown }) {
    super(400, 'invalid_document', message, details);
  }
}

export interface PlanItem {
  key: string;
  name: string;
  action: 'create' | 'update' | 'unchanged' | 'delete';
  changes: string[];
}

export interface ApplyResult {
  plan: PlanItem[];
  applied: boolean;
}

export interface Source {
  /** A file name (or "document" for the API), named in errors. */
  name: string;
  text: string;
}

/** One workflow's definition as a YAML document. */
export function definitionYaml(def: WorkflowDefinition): string {
  return new Document(def).toString({ lineWidth: 0 });
}

/** A workflow (by id or key) as YAML. */
export async function exportWorkflow(service: WorkflowsService, idOrKey: string): Promise<{ key: string; text: string }> {
  const row = await service.row(idOrKey);
  return { key: row.key, text: definitionYaml(definitionWithState(row)) };
}

/** Every workflow, one document each, by key. */
export async function exportWorkflows(service: WorkflowsService): Promise<{ key: string; text: string }[]> {
  const rows = (await service.store.list()).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return rows.map((r) => ({ key: r.key, text: definitionYaml(definitionWithState(r)) }));
}

/** Several YAML documents as one text. */
export function joinDocuments(texts: string[]): string {
  return texts.map((t, i) => (i === 0 ? t : `---\n${t}`)).join('');
}

interface Parsed {
  def: WorkflowDefinition;
  source: string;
  document: number;
  where: (path: (string | number)[]) => Position | null;
}

const at = (p: Position | null) => (p ? `line ${p.line}, column ${p.column}: ` : '');

/** Reads the documents of each source: YAML with positions, each of the definition's shape. */
export function parseWorkflowDocuments(sources: Source[]): Parsed[] {
  const out: Parsed[] = [];
  for (const src of sources) {
    const lines = new LineCounter();
    const docs = parseAllDocuments(src.text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
    if (!Array.isArray(docs)) continue; // an empty stream
    docs.forEach((doc, n) => {
      const where = (path: (string | number)[]): Position | null => {
        for (let k = path.length; k >= 0; k--) {
          const node = doc.getIn(path.slice(0, k), true) as { range?: [number, number, number] } | undefined;
          if (node?.range) {
            const p = lines.linePos(node.range[0]);
            return { line: p.line, column: p.col };
          }
        }
        return null;
      };
      const e = doc.errors[0];
      if (e) {
        const p = e.linePos?.[0] ? { line: e.linePos[0].line, column: e.linePos[0].col } : null;
        throw new WorkflowDocumentError(`${src.name}: not valid YAML: ${at(p)}${e.message.replace(/ at line \d+, column \d+[\s\S]*$/, '')}.`, { file: src.name, document: n, path: null, position: p });
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        throw new WorkflowDocumentError(`${src.name}: the document cannot be read: ${(err as Error).message}`, { file: src.name, document: n, path: null, position: null });
      }
      if (value === null || value === undefined) return; // an empty document (a trailing ---)
      const r = workflowDefinitionSchema.safeParse(value);
      if (!r.success) {
        const we = zodToWorkflowError(r.error, value);
        const path = (we.details?.path as string) ?? null;
        const issue = r.error.issues[0]!;
        const p = where([...issue.path, ...(issue.code === 'unrecognized_keys' && issue.keys[0] ? [issue.keys[0]] : [])] as (string | number)[]);
        throw new WorkflowDocumentError(`${src.name}: ${at(p)}${we.message}`, { file: src.name, document: n, path, position: p, reason: we.details?.reason });
      }
      out.push({ def: r.data, source: src.name, document: n, where });
    });
  }
  return out;
}

function pathOf(text: string): (string | number)[] {
  return [...text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  if (typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(v);
}

/** What differs between two definitions, in words, by top-level part. */
export function describeChanges(before: WorkflowDefinition, after: WorkflowDefinition): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])] as (keyof WorkflowDefinition)[];
  for (const k of keys) {
    const a = before[k];
    const b = after[k];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (k === 'steps') {
      const sa = before.steps;
      const sb = after.steps;
      const ids = (s: typeof sa) => s.map((x) => x.id).join(', ');
      out.push(ids(sa) === ids(sb) ? `steps changed: ${sb.filter((s, i) => JSON.stringify(s) !== JSON.stringify(sa[i])).map((s) => s.id).join(', ')}` : `steps: ${ids(sa)} → ${ids(sb)}`);
    } else if (k === 'conditions') out.push(`conditions changed (${(a as unknown[] | undefined)?.length ?? 0} → ${(b as unknown[] | undefined)?.length ?? 0} groups)`);
    else if (a !== null && typeof a === 'object') out.push(`${k} changed: ${show(a)} → ${show(b)}`);
    else out.push(`${k}: ${show(a)} → ${show(b)}`);
  }
  return out;
}

/**
 * Applies workflow documents: a plan (create / update / unchanged, and with `prune` delete for live workflows the
 * documents do not hold); unless `dryRun`, all of it in one transaction. A document without `state` keeps the
 * workflow's state (new ones start as drafts).
 */
export async function applyWorkflowDocuments(service: WorkflowsService, sources: Source[], opts: { dryRun: boolean; prune?: boolean; actor: Actor }): Promise<ApplyResult> {
  const docs = parseWorkflowDocuments(sources);
  if (docs.length === 0) throw new WorkflowDocumentError('The documents hold no workflow: give one YAML document per workflow.', { file: sources[0]?.name ?? 'document', document: null, path: null, position: null });
  const seen = new Map<string, Parsed>();
  for (const d of docs) {
    const first = seen.get(d.def.key);
    const p = d.where(['key']);
    if (first) throw new WorkflowDocumentError(`${d.source}: ${at(p)}the key "${d.def.key}" is also used by a workflow in ${first.source}: keys are unique.`, { file: d.source, document: d.document, path: 'key', position: p });
    seen.set(d.def.key, d);
  }
  // Each checked like the API checks it, the error pointing into its file.
  for (const d of docs) {
    try {
      await checkWorkflow(d.def, service.checkDeps);
    } catch (err) {
      if (err instanceof WorkflowError) {
        const path = String(err.details?.path ?? '');
        const p = d.where(pathOf(path));
        throw new WorkflowError(`${d.source}: ${at(p)}${err.message}`, { ...(err.details as { path: string; reason: string }), file: d.source, document: d.document, position: p });
      }
      throw err;
    }
  }

  const live = await service.store.list();
  const byKey = new Map(live.map((r) => [r.key, r]));
  const plan: PlanItem[] = [];
  for (const d of docs) {
    const row = byKey.get(d.def.key);
    if (!row) {
      const changes = [`new workflow (${d.def.trigger.type}, ${d.def.steps.length} step${d.def.steps.length === 1 ? '' : 's'}, ${d.def.state ?? 'draft'})`];
      if (d.def.steps.some((s) => s.type === 'http')) changes.push('has an HTTP step: a signing secret is made; see it by rotating it (POST /api/v1/workflows/<key>/secret)');
      plan.push({ key: d.def.key, name: d.def.name, action: 'create', changes });
      continue;
    }
    const before = definitionWithState(row);
    const changes = describeChanges(before, canonicalWithState({ ...d.def, state: d.def.state ?? before.state }));
    plan.push({ key: d.def.key, name: d.def.name, action: changes.length ? 'update' : 'unchanged', changes });
  }
  if (opts.prune) {
    for (const r of live) if (!seen.has(r.key)) plan.push({ key: r.key, name: r.name, action: 'delete', changes: ['not in the documents (--prune): deleted'] });
  }
  const writes = plan.some((p) => p.action !== 'unchanged');
  if (opts.dryRun || !writes) return { plan, applied: false };

  await service.transaction(async (tx, pending) => {
    for (const d of docs) {
      const current = await service.store.find(d.def.key, tx);
      if (!current) await service.createIn(tx, d.def, opts.actor, pending);
      else await service.updateIn(tx, current, d.def, opts.actor, pending);
    }
    if (opts.prune) for (const p of plan) if (p.action === 'delete') await service.deleteIn(tx, p.key, opts.actor);
  });
  return { plan, applied: true };
}

function canonicalWithState(def: WorkflowDefinition): WorkflowDefinition {
  const state = def.state;
  const c = canonicalDefinition(def);
  const { key, name, description, ...rest } = c;
  return { key, name, ...(description !== undefined ? { description } : {}), ...(state ? { state } : {}), ...rest };
}

