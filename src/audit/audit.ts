import type { Executor } from '../platform/db/index.js';
import type { Actor } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';

// Who changed what, when, from where. Written in the same transaction as the change.

export interface AuditEntry {
  actor: Actor;
  action: string; // e.g. api_key.created, user.role_changed
  target: { kind: string; id: string | null };
  details?: Record<string, unknown>;
  ip?: string | null;
}

export async function recordAudit(db: Executor, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: newId(),
      actor_kind: e.actor.kind,
      actor_id: e.actor.userId ?? e.actor.ref ?? null,
      action: e.action,
      target_kind: e.target.kind,
      target_id: e.target.id,
      details: JSON.stringify(e.details ?? {}),
      ip: e.ip ?? null,
      created_at: nowIso(),
    })
    .execute();
}

export async function listAudit(db: Executor, limit = 100) {
  const rows = await db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}
