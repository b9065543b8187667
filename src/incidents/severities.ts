import type { Db, Executor } from '../platform/db/index.js';
import { inTransaction } from '../platform/db/index.js';
import { ConflictError, NotFoundError } from '../platform/errors.js';
import { newId, nowIso } from '../platform/ids.js';

// Severities: the ordered list people pick from (rank 1 is the least severe, ranks stay 1..n without gaps),
// edited by admins while Firebreak runs. IncidentsService reads them on every declaration and every incident
// it returns, so this module also keeps a short-lived cache for those hot paths.

export interface Severity {
  id: string;
  name: string;
  description: string;
  rank: number;
}

/** How long another process's severity change may take to show here (hot paths only). */
const CACHE_MS = 5000;

export class Severities {
  private cache: { at: number; list: Severity[] } | null = null;

  constructor(private readonly db: Db) {}

  /** Most severe first. */
  async list(db: Executor = this.db): Promise<Severity[]> {
    return db.selectFrom('severities').select(['id', 'name', 'description', 'rank']).orderBy('rank', 'desc').execute();
  }

  async create(input: { name: string; description?: string }): Promise<Severity> {
    this.cache = null;
    return inTransaction(this.db, async (tx) => {
      await assertNameFree(tx, input.name);
      const max = await tx.selectFrom('severities').select((eb) => eb.fn.max('rank').as('m')).executeTakeFirst();
      const sev = { id: newId(), name: input.name, description: input.description ?? '', rank: Number(max?.m ?? 0) + 1 };
      await tx.insertInto('severities').values({ ...sev, created_at: nowIso() }).execute();
      return sev;
    });
  }

  async update(id: string, input: { name?: string; description?: string; rank?: number }): Promise<Severity> {
    this.cache = null;
    return inTransaction(this.db, async (tx) => {
      const current = await tx.selectFrom('severities').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw new NotFoundError('Severity', id);
      if (input.name && input.name !== current.name) await assertNameFree(tx, input.name);
      if (input.rank !== undefined && input.rank !== current.rank) {
        // Move within the ordered list: shift the others so ranks stay 1..n without gaps.
        const all = await tx.selectFrom('severities').select(['id', 'rank']).orderBy('rank').execute();
        const order = all.filter((s) => s.id !== id);
        const pos = Math.max(0, Math.min(order.length, input.rank - 1));
        order.splice(pos, 0, { id, rank: input.rank });
        for (const [i, s] of order.entries()) {
          await tx.updateTable('severities').set({ rank: i + 1 }).where('id', '=', s.id).execute();
        }
      }
      const patch = { ...(input.name ? { name: input.name } : {}), ...(input.description !== undefined ? { description: input.description } : {}) };
      if (Object.keys(patch).length > 0) await tx.updateTable('severities').set(patch).where('id', '=', id).execute();
      return tx.selectFrom('severities').select(['id', 'name', 'description', 'rank']).where('id', '=', id).executeTakeFirstOrThrow();
    });
  }

  async delete(id: string): Promise<void> {
    this.cache = null;
    await inTransaction(this.db, async (tx) => {
      const sev = await tx.selectFrom('severities').select('name').where('id', '=', id).executeTakeFirst();
      if (!sev) throw new NotFoundError('Severity', id);
      const used = await tx.selectFrom('incidents').select('reference').where('severity_id', '=', id).limit(1).executeTakeFirst();
      if (used) throw new ConflictError('severity_in_use', `Severity ${sev.name} is used by ${used.reference} and other incidents may use it too; change their severity first.`);
      const count = await tx.selectFrom('severities').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      if (Number(count.n) <= 1) throw new ConflictError('last_severity', 'At least one severity must remain.');
      await tx.deleteFrom('severities').where('id', '=', id).execute();
      const rest = await tx.selectFrom('severities').select('id').orderBy('rank').execute();
      for (const [i, s] of rest.entries()) await tx.updateTable('severities').set({ rank: i + 1 }).where('id', '=', s.id).execute();
    });
  }

  /**
   * Severities for hot paths: cached for a few seconds (other processes may change them), dropped on local
   * changes, and re-read when an id is not found so a severity added elsewhere is usable at once.
   */
  async cached(db: Executor, mustContain?: string): Promise<Severity[]> {
    const cache = this.cache;
    if (cache && Date.now() - cache.at < CACHE_MS && (!mustContain || cache.list.some((s) => s.id === mustContain))) return cache.list;
    const list = await this.list(db);
    this.cache = { at: Date.now(), list };
    return list;
  }

  /** Whether the cache (fresh or not) holds this id; false when nothing is cached yet. */
  isCached(id: string): boolean {
    return !!this.cache?.list.some((s) => s.id === id);
  }
}

async function assertNameFree(tx: Executor, name: string): Promise<void> {
  const clash = await tx.selectFrom('severities').select('id').where('name', '=', name).executeTakeFirst();
  if (clash) throw new ConflictError('duplicate_name', `A severity named ${JSON.stringify(name)} already exists.`);
}
