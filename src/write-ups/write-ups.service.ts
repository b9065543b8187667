import { z } from 'zod';
import { recordAudit } from '../audit/audit.js';
import { addTimelineItem } from '../incidents/timeline.js';
import { inTransaction, type Db, type DbDialect, type Executor, type Tx } from '../platform/db/index.js';
import { forUpdate } from '../platform/db/locks.js';
import { isUniqueViolation } from '../platform/db/errors.js';
import { AppError, ConflictError, NotFoundError } from '../platform/errors.js';
import type { Actor, EventBus } from '../platform/events.js';
import { nowIso } from '../platform/ids.js';
import type { LiveFeed } from '../platform/live.js';
import type { SettingsStore } from '../platform/settings.js';
import { renderMarkdown } from './markdown.js';
import { actorName, countFollowUps, readWriteUpSources } from './sources.js';
import { checkTemplate, DEFAULT_TEMPLATE, renderTemplate, templateView, timeInWords } from './template.js';
import './tables.js';

// The post-incident write-up and checklist use cases. Each change is written with its timeline item (when it
// has one) and a live-feed touch of the incident in one transaction, so open pages follow it.

export const TEMPLATE_KEY = 'write_ups.template';
export const MAX_WRITE_UP_BYTES = 200 * 1024;
const storedTemplate = z.object({ markdown: z.string(), updated_at: z.string(), updated_by: z.string().nullable() });
type StoredTemplate = z.infer<typeof storedTemplate>;

export interface WriteUpTemplate {
  markdown: string;
  isDefault: boolean;
  updatedAt: string | null;
  /** Who saved it, by name. */
  updatedBy: string | null;
}

export interface WriteUp {
  incident: { id: string; reference: string; name: string };
  markdown: string;
  html: string;
  version: number;
  generatedAt: string;
  generatedBy: string;
  editedAt: string | null;
  updatedAt: string;
  updatedBy: string;
}

export const CHECKLIST_ITEMS = ['write_up', 'review', 'follow_ups'] as const;
export type ChecklistItemKey = (typeof CHECKLIST_ITEMS)[number];
const ITEM_LABELS: Record<ChecklistItemKey, string> = { write_up: 'Write-up written', review: 'Review held', follow_ups: 'Follow-ups created' };

export interface ChecklistItem {
  item: ChecklistItemKey;
  label: string;
  done: boolean;
  /** Ticked by itself from what exists (write-up, follow-ups) rather than by a person. */
  derived: boolean;
  /** In words: why it is (not) done. */
  detail: string;
  note: string | null;
  by: string | null;
  at: string | null;
}

export interface Checklist {
  incident: { id: string; reference: string; name: string; status: { name: string; category: string } };
  /** The checklist runs once the incident is closed. */
  applicable: boolean;
  complete: boolean;
  completedAt: string | null;
  items: ChecklistItem[];
  writeUp: { exists: boolean; edited: boolean; version: number | null };
  followUpCount: number;
}

export interface WriteUpsDeps {
  db: Db;
  dialect: DbDialect;
  events: EventBus;
  live: LiveFeed;
  settings: SettingsStore;
  publicUrl: () => string;
}

const userName = async (db: Executor, userId: string | null | undefined): Promise<string | null> => {
  if (!userId) return null;
  const row = await db.selectFrom('users').select('name').where('id', '=', userId).executeTakeFirst();
  return row?.name ?? null;
};

export class WriteUpsService {
  constructor(private readonly deps: WriteUpsDeps) {}

  private get db() {
    return this.deps.db;
  }

  // ---- the template --------------------------------------------------------------------------------------

  async template(): Promise<WriteUpTemplate> {
    const stored = await this.deps.settings.get<StoredTemplate | null>(TEMPLATE_KEY, storedTemplate.nullable(), null);
    if (!stored) return { markdown: DEFAULT_TEMPLATE, isDefault: true, updatedAt: null, updatedBy: null };
    return { markdown: stored.markdown, isDefault: false, updatedAt: stored.updated_at, updatedBy: stored.updated_by };
  }

  /** Checks, then saves the template (admin). A template that does not check is refused and nothing is written. */
  async setTemplate(markdown: string, actor: Actor): Promise<WriteUpTemplate> {
    checkTemplate(markdown);
    await inTransaction(this.db, async (tx) => {
      const by = actorName(actor.kind, await userName(tx, actor.userId), actor.ref ?? null);
      await this.deps.settings.set(TEMPLATE_KEY, { markdown, updated_at: nowIso(), updated_by: by } satisfies StoredTemplate, tx);
      await recordAudit(tx, { actor, action: 'write_up_template.changed', target: { kind: 'setting', id: TEMPLATE_KEY }, details: { bytes: Buffer.byteLength(markdown) } });
      await this.deps.live.touch(tx, { topic: 'settings' });
    });
    return this.template();
  }

  /** Back to the default template (admin). */
  async resetTemplate(actor: Actor): Promise<WriteUpTemplate> {
    await inTransaction(this.db, async (tx) => {
      await tx.deleteFrom('settings').where('key', '=', TEMPLATE_KEY).execute();
      await recordAudit(tx, { actor, action: 'write_up_template.reset', target: { kind: 'setting', id: TEMPLATE_KEY } });
      await this.deps.live.touch(tx, { topic: 'settings' });
    });
    return this.template();
  }

  /** A template (saved or not) rendered for an incident, for the template editor. Writes nothing. */
  async preview(markdown: string, incidentIdOrRef: string): Promise<{ markdown: string; html: string }> {
    checkTemplate(markdown);
    const out = await this.renderFor(this.db, incidentIdOrRef, markdown);
    return { markdown: out, html: renderMarkdown(out) };
  }

  private async renderFor(db: Executor, incidentIdOrRef: string, template: string): Promise<string> {
    const sources = await readWriteUpSources(db, incidentIdOrRef);
    const url = `${this.deps.publicUrl().replace(/\/+$/, '')}/incidents/${encodeURIComponent(sources.incident.reference)}`;
    return renderTemplate(template, templateView(sources, { incidentUrl: url, now: nowIso() }));
  }

  // ---- the write-up ----------------------------------------------------------------------------------------

  /** Generates the write-up from the template; 409 when one exists unless `regenerate` (which replaces it). */
  async generate(incidentIdOrRef: string, opts: { regenerate: boolean }, actor: Actor): Promise<{ writeUp: WriteUp; created: boolean }> {
    const template = (await this.template()).markdown;
    // A stored template is checked when saved; one saved before a variable was renamed is caught here.
    checkTemplate(template);
    let created = false;
    const incidentId = await inTransaction(this.db, async (tx) => {
      const inc = await this.lockIncident(tx, incidentIdOrRef);
      const existing = await tx.selectFrom('write_ups').select(['version', 'updated_at', 'updated_by_kind', 'updated_by_user_id', 'updated_by_ref']).where('incident_id', '=', inc.id).executeTakeFirst();
      if (existing && !opts.regenerate) {
        const by = actorName(existing.updated_by_kind, await userName(tx, existing.updated_by_user_id), existing.updated_by_ref);
        throw new ConflictError('write_up_exists', `${inc.reference} already has a write-up (version ${existing.version}, last saved by ${by} on ${timeInWords(existing.updated_at)}). Send {"regenerate": true} to replace it with a new one from the template; edits in it would be lost.`, {
          version: existing.version,
          saved_by: by,
          saved_at: existing.updated_at,
        });
      }
      const markdown = await this.renderFor(tx, inc.id, template);
      const now = nowIso();
      const by = { kind: actor.kind, user_id: actor.userId ?? null, ref: actor.ref ?? null };
      if (existing) {
        await tx
          .updateTable('write_ups')
          .set({ markdown, version: existing.version + 1, generated_at: now, generated_by_kind: by.kind, generated_by_user_id: by.user_id, generated_by_ref: by.ref, edited_at: null, updated_at: now, updated_by_kind: by.kind, updated_by_user_id: by.user_id, updated_by_ref: by.ref })
          .where('incident_id', '=', inc.id)
          .execute();
      } else {
        await tx
          .insertInto('write_ups')
          .values({ incident_id: inc.id, markdown, version: 1, generated_at: now, generated_by_kind: by.kind, generated_by_user_id: by.user_id, generated_by_ref: by.ref, edited_at: null, updated_at: now, updated_by_kind: by.kind, updated_by_user_id: by.user_id, updated_by_ref: by.ref })
          .execute();
        created = true;
      }
      await addTimelineItem(tx, this.deps.events, {
        incidentId: inc.id,
        kind: existing ? 'write_up_regenerated' : 'write_up_generated',
        actor,
        payload: { text: existing ? 'Post-incident write-up generated again from the template (edits replaced)' : 'Post-incident write-up generated from the template' },
      });
      // A regenerated write-up is no longer "written" until it is edited again.
      await this.reevaluate(tx, inc.id, actor);
      await this.deps.live.touch(tx, { topic: 'incident', incidentId: inc.id });
      return inc.id;
    }).catch(async (err: unknown) => {
      // Two first generations at once: the loser sees the winner's write-up as existing.
      if (isUniqueViolation(err)) throw new ConflictError('write_up_exists', 'A write-up was generated for this incident at the same moment. Reload to see it.');
      throw err;
    });
    return { writeUp: await this.get(incidentId), created };
  }

  async get(incidentIdOrRef: string, db: Executor = this.db): Promise<WriteUp> {
    const inc = await this.incident(db, incidentIdOrRef);
    const row = await db
      .selectFrom('write_ups as w')
      .leftJoin('users as g', 'g.id', 'w.generated_by_user_id')
      .leftJoin('users as u', 'u.id', 'w.updated_by_user_id')
      .selectAll('w')
      .select(['g.name as generated_by_name', 'u.name as updated_by_name'])
      .where('w.incident_id', '=', inc.id)
      .executeTakeFirst();
    if (!row) throw new AppError(404, 'not_found', `${inc.reference} has no write-up yet. Generate one from the template first (POST …/write_up).`);
    return {
      incident: { id: inc.id, reference: inc.reference, name: inc.name },
      markdown: row.markdown,
      html: renderMarkdown(row.markdown),
      version: row.version,
      generatedAt: row.generated_at,
      generatedBy: actorName(row.generated_by_kind, row.generated_by_name, row.generated_by_ref),
      editedAt: row.edited_at,
      updatedAt: row.updated_at,
      updatedBy: actorName(row.updated_by_kind, row.updated_by_name, row.updated_by_ref),
    };
  }

  /**
   * Saves edited Markdown when `version` is the one stored (optimistic concurrency): a stale save is refused with
   * 409 naming who saved the newer version, and writes nothing.
   */
  async save(incidentIdOrRef: string, input: { markdown: string; version: number }, actor: Actor): Promise<WriteUp> {
    const incidentId = await inTransaction(this.db, async (tx) => {
      const inc = await this.lockIncident(tx, incidentIdOrRef);
      const now = nowIso();
      const res = await tx
        .updateTable('write_ups')
        .set((eb) => ({ markdown: input.markdown, version: eb('version', '+', 1), edited_at: now, updated_at: now, updated_by_kind: actor.kind, updated_by_user_id: actor.userId ?? null, updated_by_ref: actor.ref ?? null }))
        .where('incident_id', '=', inc.id)
        .where('version', '=', input.version)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) {
        const current = await tx.selectFrom('write_ups').select(['version', 'updated_at', 'updated_by_kind', 'updated_by_user_id', 'updated_by_ref']).where('incident_id', '=', inc.id).executeTakeFirst();
        if (!current) throw new AppError(404, 'not_found', `${inc.reference} has no write-up yet. Generate one from the template first.`);
        const by = actorName(current.updated_by_kind, await userName(tx, current.updated_by_user_id), current.updated_by_ref);
        throw new ConflictError(
          'stale_write_up',
          `${by} saved a newer version of this write-up (version ${current.version}, on ${timeInWords(current.updated_at)}) after the one you edited (version ${input.version}). Your text was not saved: copy it, reload, and apply your change again.`,
          { current_version: current.version, saved_by: by, saved_at: current.updated_at },
        );
      }
      await this.reevaluate(tx, inc.id, actor);
      await this.deps.live.touch(tx, { topic: 'incident', incidentId: inc.id });
      return inc.id;
    });
    return this.get(incidentId);
  }

  // ---- the post-incident checklist -------------------------------------------------------------------------

  async checklist(incidentIdOrRef: string, db: Executor = this.db): Promise<Checklist> {
    const inc = await this.incident(db, incidentIdOrRef);
    const [writeUp, items, state, followUps] = await Promise.all([
      db.selectFrom('write_ups as w').leftJoin('users as u', 'u.id', 'w.updated_by_user_id').select(['w.version', 'w.edited_at', 'w.updated_by_kind', 'w.updated_by_ref', 'u.name as updated_by_name']).where('w.incident_id', '=', inc.id).executeTakeFirst(),
      db.selectFrom('post_incident_items as p').leftJoin('users as u', 'u.id', 'p.actor_user_id').selectAll('p').select('u.name as user_name').where('p.incident_id', '=', inc.id).execute(),
      db.selectFrom('post_incident_checklists').select('completed_at').where('incident_id', '=', inc.id).executeTakeFirst(),
      countFollowUps(db, inc.id),
    ]);
    const stored = new Map(items.map((i) => [i.item, i]));
    const review = stored.get('review');
    const noneNeeded = stored.get('follow_ups');
    const who = (r: { actor_kind: string; user_name: string | null; actor_ref: string | null } | undefined) => (r ? actorName(r.actor_kind, r.user_name, r.actor_ref) : null);
    const edited = !!writeUp?.edited_at;
    const list: ChecklistItem[] = [
      {
        item: 'write_up',
        label: ITEM_LABELS.write_up,
        done: edited,
        derived: true,
        detail: !writeUp ? 'No write-up yet: generate it from the template, then edit it.' : edited ? `Edited, last saved by ${actorName(writeUp.updated_by_kind, writeUp.updated_by_name, writeUp.updated_by_ref)}.` : 'Generated from the template; not edited yet.',
        note: null,
        by: edited ? actorName(writeUp!.updated_by_kind, writeUp!.updated_by_name, writeUp!.updated_by_ref) : null,
        at: writeUp?.edited_at ?? null,
      },
      {
        item: 'review',
        label: ITEM_LABELS.review,
        done: review?.done === 1,
        derived: false,
        detail: review?.done === 1 ? `Ticked by ${who(review)}.` : 'Not held yet: tick it once the review meeting has happened.',
        note: review?.done === 1 ? review.note : null,
        by: review?.done === 1 ? who(review) : null,
        at: review?.done === 1 ? review.updated_at : null,
      },
      {
        item: 'follow_ups',
        label: ITEM_LABELS.follow_ups,
        done: followUps > 0 || noneNeeded?.done === 1,
        derived: true,
        detail: followUps > 0 ? `${followUps} follow-up${followUps === 1 ? '' : 's'} created.` : noneNeeded?.done === 1 ? `None needed, said ${who(noneNeeded)}.` : 'No follow-ups yet: create them, or say that none are needed.',
        note: followUps === 0 && noneNeeded?.done === 1 ? noneNeeded.note : null,
        by: followUps === 0 && noneNeeded?.done === 1 ? who(noneNeeded) : null,
        at: followUps === 0 && noneNeeded?.done === 1 ? noneNeeded.updated_at : null,
      },
    ];
    const applicable = inc.category === 'closed';
    return {
      incident: { id: inc.id, reference: inc.reference, name: inc.name, status: { name: inc.status, category: inc.category } },
      applicable,
      complete: applicable && list.every((i) => i.done),
      completedAt: applicable ? (state?.completed_at ?? null) : null,
      items: list,
      writeUp: { exists: !!writeUp, edited, version: writeUp?.version ?? null },
      followUpCount: followUps,
    };
  }

  /**
   * A person ticks or unticks an item of a closed incident's checklist. "Review held" is theirs to tick;
   * "Follow-ups created" can be ticked as "none needed" while there are no follow-ups; "Write-up written" follows
   * the write-up itself. Refusals write nothing.
   */
  async setItem(incidentIdOrRef: string, item: ChecklistItemKey, input: { done: boolean; note?: string | null }, actor: Actor): Promise<Checklist> {
    const incidentId = await inTransaction(this.db, async (tx) => {
      const inc = await this.lockIncident(tx, incidentIdOrRef);
      if (inc.category !== 'closed') {
        throw new ConflictError('incident_not_closed', `${inc.reference} is ${inc.status}; the post-incident checklist starts once it is closed.`);
      }
      if (item === 'write_up') {
        throw new ConflictError('derived_item', '"Write-up written" ticks itself once the write-up has been generated, edited and saved. Open the write-up to finish it.');
      }
      const note = input.note?.trim() ? input.note.trim() : null;
      if (item === 'follow_ups') {
        const n = await countFollowUps(tx, inc.id);
        if (n > 0) {
          throw new ConflictError('follow_ups_exist', `${inc.reference} has ${n} follow-up${n === 1 ? '' : 's'}, so "Follow-ups created" is done by itself and cannot be ${input.done ? 'marked "none needed"' : 'unticked'}.`);
        }
      }
      const now = nowIso();
      const row = { done: input.done ? 1 : 0, note, actor_kind: actor.kind, actor_user_id: actor.userId ?? null, actor_ref: actor.ref ?? null, updated_at: now };
      await tx
        .insertInto('post_incident_items')
        .values({ incident_id: inc.id, item, ...row })
        .onConflict((oc) => oc.columns(['incident_id', 'item']).doUpdateSet(row))
        .execute();
      const by = actorName(actor.kind, await userName(tx, actor.userId), actor.ref ?? null);
      const what = item === 'review' ? (input.done ? `"Review held" ticked by ${by}` : `"Review held" unticked by ${by}`) : input.done ? `${by} said no follow-ups are needed` : `${by} took back "no follow-ups needed"`;
      await addTimelineItem(tx, this.deps.events, { incidentId: inc.id, kind: 'post_incident_item_changed', actor, payload: { item, label: ITEM_LABELS[item], done: input.done, note, text: `Post-incident: ${what}${note ? `: ${note}` : ''}` } });
      await this.reevaluate(tx, inc.id, actor);
      await this.deps.live.touch(tx, { topic: 'incident', incidentId: inc.id });
      return inc.id;
    });
    return this.checklist(incidentId);
  }

  /**
   * Records the checklist's completion when it has just become complete (closed, every item done): a
   * "Post-incident complete" timeline item, once per completion. An item undone afterwards reopens it (with its
   * own timeline item); an incident that is reopened is no longer complete, silently (its status change says it).
   */
  async reevaluate(tx: Tx, incidentId: string, actor: Actor): Promise<void> {
    const c = await this.checklist(incidentId, tx);
    const state = await tx.selectFrom('post_incident_checklists').select('completed_at').where('incident_id', '=', incidentId).executeTakeFirst();
    const wasComplete = !!state?.completed_at;
    if (c.complete === wasComplete) return;
    const now = nowIso();
    const completedAt = c.complete ? now : null;
    await tx
      .insertInto('post_incident_checklists')
      .values({ incident_id: incidentId, completed_at: completedAt, updated_at: now })
      .onConflict((oc) => oc.column('incident_id').doUpdateSet({ completed_at: completedAt, updated_at: now }))
      .execute();
    if (c.complete) {
      await addTimelineItem(tx, this.deps.events, { incidentId, kind: 'post_incident_completed', actor, payload: { text: 'Post-incident complete: write-up written, review held, follow-ups created' } });
    } else if (c.applicable) {
      const open = c.items.filter((i) => !i.done).map((i) => i.label);
      await addTimelineItem(tx, this.deps.events, { incidentId, kind: 'post_incident_reopened', actor, payload: { text: `Post-incident checklist reopened: ${open.join(', ')} no longer done` } });
    }
  }

  /** For the event subscriber: an incident's follow-ups or status changed. */
  async recheck(incidentId: string, actor: Actor): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      await this.lockIncident(tx, incidentId);
      await this.reevaluate(tx, incidentId, actor);
      await this.deps.live.touch(tx, { topic: 'incident', incidentId });
    });
  }

  // ---- helpers -----------------------------------------------------------------------------------------------

  private async incident(db: Executor, idOrRef: string) {
    const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
    const row = await db
      .selectFrom('incidents as i')
      .innerJoin('incident_statuses as st', 'st.id', 'i.status_id')
      .select(['i.id', 'i.reference', 'i.name', 'st.name as status', 'st.category'])
      .$if(!!ref, (q) => q.where('i.number', '=', Number(ref![1])))
      .$if(!ref, (q) => q.where('i.id', '=', idOrRef))
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Incident', idOrRef);
    return row;
  }

  /** The incident, its row locked on PostgreSQL so changes to one incident's write-up and checklist apply in turn. */
  private async lockIncident(tx: Tx, idOrRef: string) {
    const { id } = await this.incident(tx, idOrRef);
    await forUpdate(tx.selectFrom('incidents').select('id').where('id', '=', id), this.deps.dialect).execute();
    // Read again under the lock: the status may have changed while we waited for it.
    return this.incident(tx, id);
  }
}
