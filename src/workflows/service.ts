import { randomBytes } from 'node:crypto';
import { recordAudit } from '../audit/audit.js';
import type { SecretBox } from '../platform/crypto/secrets.js';
import { inTransaction, type Db, type Executor, type Tx } from '../platform/db/index.js';
import { isUniqueViolation } from '../platform/db/errors.js';
import { AppError, ConflictError } from '../platform/errors.js';
import type { Actor } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';
import { checkWorkflow, type CheckDeps } from './check.js';
import type { TriggerType, Workflow, WorkflowDefinition, WorkflowState } from './model.js';
import { canonicalDefinition, definitionWithState, rowDefinition, workflowFromRow, WorkflowStore, type WorkflowRow } from './store.js';

// Workflow definitions: create, change (version + 1 each time), activate / disable, delete (soft), each checked
// like the API checks it and audited with the definition before and after in the same transaction. A workflow
// with an HTTP step gets a signing secret (shown once); the engine reads it with secretFor. Listeners hear about
// activations after commit (the engine runs workflows that apply to existing incidents).

export const SECRET_PURPOSE = 'workflow.http_secret';

export class WorkflowNotFoundError extends AppError {
  constructor(idOrKey: string) {
    super(404, 'workflow_not_found', `No workflow has the id or key ${JSON.stringify(idOrKey)}.`);
  }
}

const keyTaken = (key: string) => new ConflictError('workflow_key_taken', `A workflow with the key ${key} already exists; keys are unique.`, { key });

export interface Activation {
  workflowId: string;
  applyToExisting: boolean;
}

export interface AuditView {
  action: string;
  actor: { kind: string; name: string | null };
  at: string;
  before: WorkflowDefinition | null;
  after: WorkflowDefinition | null;
}

/** A write the service does inside a transaction someone else holds (as-code apply), and what to do after commit. */
export interface Pending {
  after: (() => Promise<void>)[];
}

function hasHttpStep(def: WorkflowDefinition): boolean {
  return def.steps.some((s) => s.type === 'http');
}

export class WorkflowsService {
  readonly store: WorkflowStore;
  private readonly activated: ((a: Activation) => Promise<void> | void)[] = [];
  private readonly changed: (() => Promise<void> | void)[] = [];

  constructor(private readonly deps: { db: Db; secrets: SecretBox; check: CheckDeps }) {
    this.store = new WorkflowStore(deps.db);
  }

  get database(): Db {
    return this.deps.db;
  }

  get checkDeps(): CheckDeps {
    return this.deps.check;
  }

  /** Called after a workflow becomes active (after commit). */
  onActivated(listener: (a: Activation) => Promise<void> | void): void {
    this.activated.push(listener);
  }

  /** Called after any change to workflows (after commit). */
  onChange(listener: () => Promise<void> | void): void {
    this.changed.push(listener);
  }

  /** Checks a definition as saving it would (400 invalid_workflow); nothing is written. */
  async check(input: unknown): Promise<WorkflowDefinition> {
    return checkWorkflow(input, this.deps.check);
  }

  async list(): Promise<Workflow[]> {
    const rows = await this.store.list();
    const last = await this.store.lastRuns(rows.map((r) => r.id));
    return rows.map((r) => workflowFromRow(r, last.get(r.id) ?? null));
  }

  async get(idOrKey: string, db: Executor = this.deps.db): Promise<Workflow> {
    const row = await this.row(idOrKey, db);
    const last = await this.store.lastRuns([row.id], db);
    return workflowFromRow(row, last.get(row.id) ?? null);
  }

  async row(idOrKey: string, db: Executor = this.deps.db): Promise<WorkflowRow> {
    const row = await this.store.find(idOrKey, db);
    if (!row) throw new WorkflowNotFoundError(idOrKey);
    return row;
  }

  listActive(triggerType: TriggerType): Promise<Workflow[]> {
    return this.store.listActive(triggerType);
  }

  version(): Promise<string> {
    return this.store.version();
  }

  /** The HTTP signing secret, or null when the workflow has none. */
  async secretFor(workflowId: string): Promise<string | null> {
    const r = await this.deps.db.selectFrom('workflows').select('secret').where('id', '=', workflowId).executeTakeFirst();
    return r?.secret ? this.deps.secrets.decrypt(r.secret, SECRET_PURPOSE) : null;
  }

  private newSecret(): { plain: string; box: string } {
    const plain = `wfs_${randomBytes(32).toString('base64url')}`;
    return { plain, box: this.deps.secrets.encrypt(plain, SECRET_PURPOSE) };
  }

  private async afterCommit(p: Pending): Promise<void> {
    for (const f of p.after) await f();
    for (const l of this.changed) await l();
  }

  private notifyActivated(p: Pending, a: Activation): void {
    p.after.push(async () => {
      for (const l of this.activated) await l(a);
    });
  }

  async create(input: unknown, actor: Actor): Promise<{ workflow: Workflow; secret: string | null }> {
    const def = await this.check(input);
    const p: Pending = { after: [] };
    const r = await inTransaction(this.deps.db, (tx) => this.createIn(tx, def, actor, p)).catch((err: unknown) => {
      if (isUniqueViolation(err)) throw keyTaken(def.key);
      throw err;
    });
    await this.afterCommit(p);
    return { workflow: await this.get(r.id), secret: r.secret };
  }

  /** Inserts a checked definition within `tx`. */
  async createIn(tx: Tx, def: WorkflowDefinition, actor: Actor, p: Pending): Promise<{ id: string; secret: string | null }> {
    if (await this.store.keyTaken(def.key, null, tx)) throw keyTaken(def.key);
    const state: WorkflowState = def.state ?? 'draft';
    const stored = canonicalDefinition(def);
    const now = nowIso();
    const id = newId();
    const secret = hasHttpStep(stored) ? this.newSecret() : null;
    const row: WorkflowRow = {
      id,
      key: stored.key,
      name: stored.name,
      state,
      trigger_type: stored.trigger.type,
      definition: JSON.stringify(stored),
      version: 1,
      secret: secret?.box ?? null,
      created_by: actor.kind === 'user' ? (actor.userId ?? null) : null,
      created_at: now,
      updated_at: now,
      activated_at: state === 'active' ? now : null,
      deleted_at: null,
    };
    await this.store.insert(tx, row);
    await recordAudit(tx, { actor, action: 'workflow.created', target: { kind: 'workflow', id }, details: { key: row.key, name: row.name, before: null, after: definitionWithState(row) } });
    if (state === 'active') this.notifyActivated(p, { workflowId: id, applyToExisting: stored.apply_to_existing ?? false });
    return { id, secret: secret?.plain ?? null };
  }

  async update(idOrKey: string, input: unknown, actor: Actor): Promise<{ workflow: Workflow; secret: string | null }> {
    const def = await this.check(input);
    const p: Pending = { after: [] };
    const r = await inTransaction(this.deps.db, async (tx) => this.updateIn(tx, await this.row(idOrKey, tx), def, actor, p)).catch((err: unknown) => {
      if (isUniqueViolation(err)) throw keyTaken(def.key);
      throw err;
    });
    await this.afterCommit(p);
    return { workflow: await this.get(r.id), secret: r.secret };
  }

  /** Writes a checked definition over `current` within `tx` (nothing when it is the same). */
  async updateIn(tx: Tx, current: WorkflowRow, def: WorkflowDefinition, actor: Actor, p: Pending): Promise<{ id: string; secret: string | null; changed: boolean }> {
    if (def.key !== current.key && (await this.store.keyTaken(def.key, current.id, tx))) throw keyTaken(def.key);
    const stored = canonicalDefinition(def);
    const state = (def.state ?? current.state) as WorkflowState;
    const definitionChanged = JSON.stringify(stored) !== JSON.stringify(rowDefinition(current));
    const stateChanged = state !== current.state;
    if (!definitionChanged && !stateChanged) return { id: current.id, secret: null, changed: false };
    const now = nowIso();
    let row: WorkflowRow = current;
    let secret: { plain: string; box: string } | null = null;
    if (definitionChanged) {
      secret = hasHttpStep(stored) && current.secret === null ? this.newSecret() : null;
      row = { ...current, key: stored.key, name: stored.name, trigger_type: stored.trigger.type, definition: JSON.stringify(stored), version: Number(current.version) + 1, secret: secret?.box ?? current.secret, updated_at: now };
      await this.store.update(tx, current.id, { key: row.key, name: row.name, trigger_type: row.trigger_type, definition: row.definition, version: row.version, secret: row.secret, updated_at: now });
      await recordAudit(tx, { actor, action: 'workflow.updated', target: { kind: 'workflow', id: current.id }, details: { key: row.key, name: row.name, version: row.version, before: definitionWithState(current), after: definitionWithState(row) } });
    }
    if (stateChanged) await this.writeState(tx, row, state, actor, p, now);
    return { id: current.id, secret: secret?.plain ?? null, changed: true };
  }

  private async writeState(tx: Tx, current: WorkflowRow, state: WorkflowState, actor: Actor, p: Pending, now: string, applyToExisting?: boolean): Promise<void> {
    let row: WorkflowRow = { ...current, state, updated_at: now, activated_at: state === 'active' ? now : current.activated_at };
    const def = rowDefinition(current);
    if (applyToExisting !== undefined && (def.apply_to_existing ?? false) !== applyToExisting) {
      const next = canonicalDefinition({ ...def, apply_to_existing: applyToExisting });
      row = { ...row, definition: JSON.stringify(next), version: Number(current.version) + 1 };
    }
    await this.store.update(tx, current.id, { state, updated_at: now, activated_at: row.activated_at, definition: row.definition, version: row.version });
    await recordAudit(tx, {
      actor,
      action: 'workflow.state_changed',
      target: { kind: 'workflow', id: current.id },
      details: { key: row.key, name: row.name, from: current.state, to: state, ...(state === 'active' ? { apply_to_existing: rowDefinition(row).apply_to_existing ?? false } : {}), before: definitionWithState(current), after: definitionWithState(row) },
    });
    if (state === 'active' && current.state !== 'active') this.notifyActivated(p, { workflowId: current.id, applyToExisting: rowDefinition(row).apply_to_existing ?? false });
  }

  /** Draft / active / disabled. Activating checks the definition again (the schema may have changed since). */
  async setState(idOrKey: string, state: WorkflowState, opts: { applyToExisting?: boolean }, actor: Actor): Promise<Workflow> {
    const p: Pending = { after: [] };
    const current = await this.row(idOrKey);
    if (state === 'active') await this.check(rowDefinition(current));
    await inTransaction(this.deps.db, async (tx) => {
      const row = await this.row(current.id, tx);
      const sameApply = opts.applyToExisting === undefined || (rowDefinition(row).apply_to_existing ?? false) === opts.applyToExisting;
      if (row.state === state && sameApply) return;
      await this.writeState(tx, row, state, actor, p, nowIso(), opts.applyToExisting);
    });
    await this.afterCommit(p);
    return this.get(current.id);
  }

  async delete(idOrKey: string, actor: Actor): Promise<void> {
    const p: Pending = { after: [] };
    await inTransaction(this.deps.db, (tx) => this.deleteIn(tx, idOrKey, actor));
    await this.afterCommit(p);
  }

  async deleteIn(tx: Tx, idOrKey: string, actor: Actor): Promise<void> {
    const row = await this.row(idOrKey, tx);
    const now = nowIso();
    await this.store.update(tx, row.id, { deleted_at: now, updated_at: now });
    await recordAudit(tx, { actor, action: 'workflow.deleted', target: { kind: 'workflow', id: row.id }, details: { key: row.key, name: row.name, before: definitionWithState(row), after: null } });
  }

  /** A new signing secret (the old one stops working): shown once. */
  async rotateSecret(idOrKey: string, actor: Actor): Promise<string> {
    const secret = this.newSecret();
    await inTransaction(this.deps.db, async (tx) => {
      const row = await this.row(idOrKey, tx);
      await this.store.update(tx, row.id, { secret: secret.box, updated_at: nowIso() });
      await recordAudit(tx, { actor, action: 'workflow.secret_rotated', target: { kind: 'workflow', id: row.id }, details: { key: row.key, name: row.name } });
    });
    return secret.plain;
  }

  /** Who created, changed, enabled or disabled the workflow, oldest first, with the definitions before and after. */
  async audit(idOrKey: string): Promise<AuditView[]> {
    const row = await this.row(idOrKey);
    const db = this.deps.db;
    const rows = await db.selectFrom('audit_events').selectAll().where('target_kind', '=', 'workflow').where('target_id', '=', row.id).orderBy('id').execute();
    const userIds = [...new Set(rows.filter((r) => r.actor_kind === 'user' && r.actor_id).map((r) => r.actor_id!))];
    const names = new Map<string, string>();
    if (userIds.length) for (const u of await db.selectFrom('users').select(['id', 'name']).where('id', 'in', userIds).execute()) names.set(u.id, u.name);
    return rows.map((r) => {
      const d = JSON.parse(r.details) as { before?: WorkflowDefinition | null; after?: WorkflowDefinition | null };
      const name = r.actor_kind === 'user' ? (names.get(r.actor_id ?? '') ?? 'a deleted user') : r.actor_id?.startsWith('api_key:') ? `API key ${r.actor_id.slice(8)}` : (r.actor_id ?? null);
      return { action: r.action, actor: { kind: r.actor_kind, name }, at: r.created_at, before: d.before ?? null, after: d.after ?? null };
    });
  }

  /** Runs `fn` in one transaction with the service's writes, then the after-commit listeners. */
  async transaction<T>(fn: (tx: Tx, p: Pending) => Promise<T>): Promise<T> {
    const p: Pending = { after: [] };
    const r = await inTransaction(this.deps.db, (tx) => fn(tx, p));
    await this.afterCommit(p);
    return r;
  }
}
