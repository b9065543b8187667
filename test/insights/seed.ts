import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/platform/db/schema.js';
import type { Client } from '../helpers.js';

// Seeding for the insights tests. Incidents are declared through the API (with their custom field values); their
// timestamps and pages are written straight into the contract's tables (incident_timestamps, the escalation
// tables), because the insights only read them and the tests need them at chosen past instants.

export async function declare(owner: Client, body: Record<string, unknown>): Promise<string> {
  const r = await owner.post('/api/v1/incidents', body);
  if (r.status !== 201) throw new Error(`declare: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.incident.id;
}

/** Sets (replaces) an incident's timestamps: `reported` at the instant given, the others that many seconds after it. */
export async function setTimestamps(db: Kysely<Database>, incidentId: string, reportedAt: string, after: { ack?: number; resolved?: number } = {}): Promise<void> {
  const at = (s: number) => new Date(Date.parse(reportedAt) + s * 1000).toISOString();
  const rows: [Database['incident_timestamps']['kind'], string][] = [['reported', new Date(reportedAt).toISOString()]];
  if (after.ack !== undefined) rows.push(['pagerduty_first_acknowledged', at(after.ack)]);
  if (after.resolved !== undefined) rows.push(['resolved', at(after.resolved)]);
  for (const [kind, when] of rows) {
    await db.deleteFrom('incident_timestamps').where('incident_id', '=', incidentId).where('kind', '=', kind).execute();
    await db.insertInto('incident_timestamps').values({ incident_id: incidentId, kind, at: when, source: 'auto', reason: null, set_by_user_id: null, updated_at: when }).execute();
  }
}

export interface SeedPage {
  incidentId: string;
  kind: 'escalation_policy' | 'user';
  targetId: string;
  targetName: string;
  serviceId: string | null;
  serviceName: string | null;
  triggeredAt: string | null;
  createdAt: string;
  /** false: PagerDuty never opened an incident for it (a failed page). */
  opened?: boolean;
}

/** One escalation with one target, as the PagerDuty wing records a page. */
export async function seedPage(db: Kysely<Database>, p: SeedPage): Promise<void> {
  const escalationId = randomUUID();
  await db
    .insertInto('pagerduty_escalations')
    .values({ id: escalationId, incident_id: p.incidentId, requester_kind: 'system', requester_user_id: null, requester_ref: null, requester_name: 'Firebreak', message: 'Please look', urgency: 'high', priority_id: null, priority_name: null, source: 'api', idempotency_key: null, slack_channel_id: null, slack_message_ts: null, created_at: p.createdAt, updated_at: p.createdAt })
    .execute();
  const opened = p.opened !== false;
  await db
    .insertInto('pagerduty_escalation_targets')
    .values({
      id: randomUUID(), escalation_id: escalationId, position: 0, kind: p.kind, target_id: p.targetId, target_name: p.targetName, service_id: p.serviceId, service_name: p.serviceName,
      incident_key: `fb-${randomUUID()}`, from_email: null, status: opened ? 'triggered' : 'failed', error: opened ? null : 'refused', pd_incident_id: opened ? `Q${randomUUID().slice(0, 8)}` : null,
      pd_incident_number: opened ? 1 : null, pd_html_url: null, paged: '[]', acknowledged_by: '[]', attempts: 1, retries: 0, lease_until: null, status_event_at: p.triggeredAt,
      triggered_at: p.triggeredAt, acknowledged_at: null, resolved_at: null, failed_at: opened ? null : p.createdAt, created_at: p.createdAt, updated_at: p.createdAt,
    })
    .execute();
}

/** The p-th quantile by linear interpolation between closest ranks, written out again for the tests' hand checks. */
export function handQuantile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const below = Math.floor(pos);
  const above = Math.ceil(pos);
  return s[below]! + (s[above]! - s[below]!) * (pos - below);
}

/** RFC 4180 CSV (quoted fields, doubled quotes) into rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += c;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  return rows;
}
