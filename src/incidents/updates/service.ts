import type { Db, Executor } from '../../platform/db/index.js';
import { inTransaction } from '../../platform/db/index.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import type { Actor, EventBus } from '../../platform/events.js';
import { newId } from '../../platform/ids.js';
import type { IncidentsService } from '../incidents.service.js';
import type { StatusCategory } from '../rules.js';
import { addTimelineItem } from '../timeline.js';
import type { UpdateDeliveries, UpdateDelivery } from './deliveries.js';

// Incident updates: "what changed", posted with the status, severity and summary it leaves the incident in. One
// update is one transaction: the changes it carries (IncidentsService.applyUpdate: the same rules as changing them
// one by one), its `incident_updates` row, one `update_posted` timeline item and the `incident.update_posted` event.
// Integrations tell where it went (Slack's posts, PagerDuty's status updates) through UpdateDeliveries.

export const UPDATE_MESSAGE_MAX = 3000;

/** Categories an update may be posted in: the incident is still being worked on. */
const OPEN_CATEGORIES: StatusCategory[] = ['triage', 'live'];

export interface PostUpdateInput {
  message: string;
  statusId?: string;
  severityId?: string;
  summary?: string;
  /** The same key returns the update made with it (a double submit, a retried request). */
  idempotencyKey?: string;
}

export interface IncidentUpdate {
  id: string;
  incidentId: string;
  message: string;
  status: { id: string; name: string; category: StatusCategory };
  severity: { id: string; name: string };
  /** The summary as this update set it; null when the update left it as it was. */
  summary: string | null;
  actor: { kind: Actor['kind']; user: { id: string; name: string } | null; ref: string | null };
  createdAt: string;
  deliveries: UpdateDelivery[];
}

export class UpdatesService {
  constructor(
    private readonly db: Db,
    private readonly events: EventBus,
    private readonly incidents: IncidentsService,
    private readonly deliveries: UpdateDeliveries,
  ) {}

  /**
   * Posts an update. Refused (409 `incident_not_open`, nothing written) once the incident is closed, declined,
   * merged or canceled; status moves follow the status rules (409 `illegal_transition`).
   */
  async postUpdate(incidentIdOrRef: string, input: PostUpdateInput, actor: Actor): Promise<{ update: IncidentUpdate; created: boolean }> {
    const incidentId = await this.incidents.findIncidentId(incidentIdOrRef);
    const prior = await this.byKey(incidentId, input.idempotencyKey);
    if (prior) return { update: prior, created: false };
    let id: string;
    try {
      id = await inTransaction(this.db, async (tx) => {
        const applied = await this.incidents.applyUpdate(tx, incidentId, { statusId: input.statusId, severityId: input.severityId, summary: input.summary }, actor, (inc, current) => {
          if (!OPEN_CATEGORIES.includes(current.category)) {
            throw new ConflictError('incident_not_open', `${inc.reference} is ${current.name}: updates can only be posted while an incident is open. Reopen it first to post an update.`, { status: { id: current.id, name: current.name, category: current.category } });
          }
        });
        const updateId = newId();
        await tx
          .insertInto('incident_updates')
          .values({
            id: updateId,
            incident_id: incidentId,
            message: input.message,
            status_id: applied.status.id,
            severity_id: applied.severity.id,
            summary: applied.summary,
            actor_kind: actor.kind,
            actor_user_id: actor.userId ?? null,
            actor_ref: actor.ref ?? null,
            idempotency_key: input.idempotencyKey ?? null,
            created_at: applied.at,
          })
          .execute();
        const statusChanged = applied.status.id !== applied.fromStatus.id;
        const severityChanged = applied.severity.id !== applied.fromSeverity.id;
        await addTimelineItem(tx, this.events, {
          incidentId,
          kind: 'update_posted',
          actor,
          occurredAt: applied.at,
          payload: {
            updateId,
            message: input.message,
            status: applied.status.name,
            statusId: applied.status.id,
            severity: applied.severity.name,
            severityId: applied.severity.id,
            ...(applied.summary !== null ? { summary: applied.summary } : {}),
            // What moved, for readers of the timeline (e.g. how many times an incident was closed).
            ...(statusChanged ? { fromStatus: applied.fromStatus.name, fromCategory: applied.fromStatus.category, toCategory: applied.status.category } : {}),
            ...(severityChanged ? { fromSeverity: applied.fromSeverity.name } : {}),
          },
        });
        await this.events.publish(tx, {
          type: 'incident.update_posted',
          incidentId,
          actor,
          data: { updateId, message: input.message, status: applied.status.name, severity: applied.severity.name, summary: applied.summary },
        });
        return updateId;
      });
    } catch (err) {
      // Two requests with one key raced: the loser returns the winner's update.
      if (input.idempotencyKey && isUniqueViolation(err)) {
        const winner = await this.byKey(incidentId, input.idempotencyKey);
        if (winner) return { update: winner, created: false };
      }
      throw err;
    }
    return { update: (await this.read(incidentId, [id]))[0]!, created: true };
  }

  /** An incident's updates, newest first, with where each went. */
  async list(incidentIdOrRef: string): Promise<IncidentUpdate[]> {
    return this.read(await this.incidents.findIncidentId(incidentIdOrRef));
  }

  /** One update by id (with its deliveries), or 404. */
  async get(updateId: string): Promise<IncidentUpdate> {
    const row = await this.db.selectFrom('incident_updates').select('incident_id').where('id', '=', updateId).executeTakeFirst();
    const found = row ? (await this.read(row.incident_id, [updateId]))[0] : undefined;
    if (!found) throw new NotFoundError('Update', updateId);
    return found;
  }

  /** When each incident was last updated (ids without updates are left out). */
  async lastUpdateAt(incidentIds: string[], db: Executor = this.db): Promise<Map<string, string>> {
    if (incidentIds.length === 0) return new Map();
    const rows = await db
      .selectFrom('incident_updates')
      .select(['incident_id', (eb) => eb.fn.max('created_at').as('last')])
      .where('incident_id', 'in', incidentIds)
      .groupBy('incident_id')
      .execute();
    return new Map(rows.map((r) => [r.incident_id, String(r.last)]));
  }

  private async byKey(incidentId: string, key: string | undefined): Promise<IncidentUpdate | null> {
    if (!key) return null;
    const row = await this.db.selectFrom('incident_updates').select(['id', 'incident_id']).where('idempotency_key', '=', key).executeTakeFirst();
    if (!row) return null;
    if (row.incident_id !== incidentId) throw new ConflictError('idempotency_key_reused', 'This idempotency key was already used for an update of another incident; use a new key.');
    return (await this.read(incidentId, [row.id]))[0] ?? null;
  }

  private async read(incidentId: string, ids?: string[]): Promise<IncidentUpdate[]> {
    let q = this.db
      .selectFrom('incident_updates as u')
      .innerJoin('incident_statuses as s', 's.id', 'u.status_id')
      .leftJoin('severities as sv', 'sv.id', 'u.severity_id') // a severity deleted since keeps its id
      .leftJoin('users as p', 'p.id', 'u.actor_user_id')
      .select(['u.id', 'u.incident_id', 'u.message', 'u.summary', 'u.actor_kind', 'u.actor_ref', 'u.created_at', 's.id as status_id', 's.name as status_name', 's.category as status_category', 'u.severity_id', 'sv.name as severity_name', 'p.id as user_id', 'p.name as user_name'])
      .where('u.incident_id', '=', incidentId);
    if (ids) q = q.where('u.id', 'in', ids);
    const rows = await q.orderBy('u.created_at', 'desc').orderBy('u.id', 'desc').execute();
    const deliveries = await this.deliveries.for(rows.map((r) => r.id));
    return rows.map((r) => ({
      id: r.id,
      incidentId: r.incident_id,
      message: r.message,
      status: { id: r.status_id, name: r.status_name, category: r.status_category as StatusCategory },
      severity: { id: r.severity_id, name: r.severity_name ?? r.severity_id },
      summary: r.summary,
      actor: { kind: r.actor_kind as Actor['kind'], user: r.user_id ? { id: r.user_id, name: r.user_name ?? '' } : null, ref: r.actor_ref },
      createdAt: r.created_at,
      deliveries: deliveries.get(r.id) ?? [],
    }));
  }
}
