import type { Executor } from '../platform/db/index.js';
import type { Actor, EventBus } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';

// The timeline: typed items with an actor and a dedupe key, written in the same transaction as the change
// they describe. Integrations add their own kinds (e.g. pagerduty.acknowledged) through addTimelineItem.

export type CoreTimelineKind =
  | 'incident_declared'
  | 'status_changed'
  | 'severity_changed'
  | 'name_changed'
  | 'summary_updated'
  | 'lead_changed'
  | 'note_added'
  | 'incident_merged_in'
  | 'custom_field_changed'
  | 'timestamp_changed'
  | 'update_posted'
  | 'role_assigned'
  | 'follow_up_created'
  | 'follow_up_updated';

export interface TimelineItem {
  id: string;
  incidentId: string;
  kind: string;
  occurredAt: string;
  actor: { kind: Actor['kind']; user: { id: string; name: string } | null; ref: string | null };
  payload: Record<string, unknown>;
  text: string;
}

export interface NewTimelineItem {
  incidentId: string;
  kind: string;
  actor: Actor;
  payload: Record<string, unknown>;
  occurredAt?: string;
  /** Re-adding an item with the same key for the same incident is a no-op. */
  dedupeKey?: string;
}

/**
 * Adds an item unless one with the same dedupe key exists. Returns the new item's id, or null when it was a
 * duplicate. Publishes `incident.timeline_item_added` in the same transaction.
 */
export async function addTimelineItem(tx: Executor, events: EventBus, item: NewTimelineItem): Promise<string | null> {
  const id = newId();
  const now = nowIso();
  const inserted = await tx
    .insertInto('timeline_items')
    .values({
      id,
      incident_id: item.incidentId,
      kind: item.kind,
      occurred_at: item.occurredAt ?? now,
      created_at: now,
      actor_kind: item.actor.kind,
      actor_user_id: item.actor.userId ?? null,
      actor_ref: item.actor.ref ?? null,
      payload: JSON.stringify(item.payload),
      dedupe_key: item.dedupeKey ?? null,
    })
    .onConflict((oc) => oc.columns(['incident_id', 'dedupe_key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return null;
  await events.publish(tx, {
    type: 'incident.timeline_item_added',
    incidentId: item.incidentId,
    actor: item.actor,
    data: { itemId: id, kind: item.kind },
  });
  return id;
}

export async function listTimeline(db: Executor, incidentId: string): Promise<TimelineItem[]> {
  const rows = await db
    .selectFrom('timeline_items as t')
    .leftJoin('users as u', 'u.id', 't.actor_user_id')
    .select(['t.id', 't.incident_id', 't.kind', 't.occurred_at', 't.actor_kind', 't.actor_ref', 't.payload', 'u.id as user_id', 'u.name as user_name'])
    .where('t.incident_id', '=', incidentId)
    .orderBy('t.occurred_at')
    .orderBy('t.id')
    .execute();
  return rows.map((r) => {
    const payload = JSON.parse(r.payload) as Record<string, unknown>;
    return {
      id: r.id,
      incidentId: r.incident_id,
      kind: r.kind,
      occurredAt: r.occurred_at,
      actor: { kind: r.actor_kind, user: r.user_id ? { id: r.user_id, name: r.user_name ?? '' } : null, ref: r.actor_ref },
      payload,
      text: timelineText(r.kind, payload),
    };
  });
}

/** One line a person can read. Payloads carry names as they were, so no lookup is needed. */
export function timelineText(kind: string, p: Record<string, unknown>): string {
  const s = (k: string) => String(p[k] ?? '');
  switch (kind) {
    case 'incident_declared': {
      const fields = Array.isArray(p.customFields) ? (p.customFields as { name?: unknown; labels?: unknown }[]) : [];
      const set = fields.map((f) => `${String(f.name ?? '')}: ${labelList(f.labels)}`).join('; ');
      return `Incident declared: "${s('name')}" (${s('severity')}, ${s('status')})${set ? ` with ${set}` : ''}`;
    }
    case 'custom_field_changed': {
      const field = (p.field as { name?: unknown } | undefined)?.name ?? 'A custom field';
      const from = labelList(p.from);
      const to = labelList(p.to);
      if (!to) return `${String(field)} cleared${from ? ` (was ${from})` : ''}`;
      if (!from) return `${String(field)} set to ${to}`;
      return `${String(field)} changed from ${from} to ${to}`;
    }
    case 'status_changed':
      return `Status changed from ${s('from')} to ${s('to')}${p.reason ? `: ${s('reason')}` : ''}`;
    case 'severity_changed':
      return `Severity changed from ${s('from')} to ${s('to')}`;
    case 'name_changed':
      return `Renamed from "${s('from')}" to "${s('to')}"`;
    case 'summary_updated':
      return `Summary updated: ${s('to')}`;
    case 'lead_changed':
      return p.to ? `Lead set to ${s('to')}` : 'Lead removed';
    case 'role_assigned':
      if (!p.user) return `${s('role')} removed${p.previous ? ` (was ${s('previous')})` : ''}`;
      return p.previous ? `${s('role')} changed from ${s('previous')} to ${s('user')}` : `${s('role')} given to ${s('user')}`;
    case 'note_added':
      return s('text');
    case 'timestamp_changed':
      return timestampChangedText(p);
    case 'update_posted':
      return `Update: ${s('message')} (${s('status')}, ${s('severity')})`;
    case 'incident_merged_in':
      return `${s('reference')} was merged into this incident`;
    case 'follow_up_created':
    case 'follow_up_updated':
      return followUpText(kind, p);
    default:
      return typeof p.text === 'string' ? p.text : kind.replace(/[._]/g, ' ');
  }
}

/** "Fixed changed from 10:42 to 10:50 UTC: deploy finished later" (set, changed or cleared). */
function timestampChangedText(p: Record<string, unknown>): string {
  const at = (v: unknown) => (typeof v === 'string' ? new Date(v).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '');
  const what = String(p.label ?? p.kind ?? 'A timestamp');
  const why = p.reason ? `: ${String(p.reason)}` : '';
  if (!p.to) return `${what} cleared${p.from ? ` (was ${at(p.from)})` : ''}${why}`;
  if (!p.from) return `${what} set to ${at(p.to)}${why}`;
  return `${what} changed from ${at(p.from)} to ${at(p.to)}${why}`;
}

/** "Follow-up added: "Add disk alerts" (owner Alice, high priority)" / "Follow-up "Add disk alerts": status open → done". */
function followUpText(kind: string, p: Record<string, unknown>): string {
  const title = String(p.title ?? '');
  const word = (v: unknown) => (v === null || v === undefined || v === '' ? 'none' : v === 'wont_do' ? "won't do" : String(v));
  if (kind === 'follow_up_created') {
    const parts = [p.owner ? `owner ${String(p.owner)}` : 'no owner', `${String(p.priority ?? 'medium')} priority`];
    if (p.status && p.status !== 'open') parts.push(word(p.status));
    return `Follow-up added: "${title}" (${parts.join(', ')})`;
  }
  const changes = Array.isArray(p.changes) ? (p.changes as { field?: unknown; from?: unknown; to?: unknown }[]) : [];
  const said = changes.map((c) => (c.field === 'description' ? 'description edited' : c.field === 'title' ? `renamed from "${String(c.from ?? '')}"` : `${String(c.field)} ${word(c.from)} → ${word(c.to)}`));
  return `Follow-up "${title}": ${said.join('; ') || 'changed'}`;
}

/** Labels as a person reads them: "Checkout API, Payments API". */
function labelList(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join(', ') : '';
}
