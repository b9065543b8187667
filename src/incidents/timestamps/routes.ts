import { z } from 'zod';
import type { App } from '../../platform/http/server.js';
import { actorOf, requireAccess } from '../../users/auth.js';
import type { IncidentsService } from '../incidents.service.js';
import { EDITABLE_KINDS, INCIDENT_TIMESTAMP_KINDS } from './rules.js';
import type { IncidentTimes } from './timestamps.service.js';

// GET /api/v1/incidents/:incident_id/timestamps and PUT …/timestamps/:kind (a person sets or clears one, with a
// reason). The same `timestamps` and `durations` are part of every incident's JSON.

const sources = ['auto', 'pagerduty', 'user'] as const;

export const timestampJson = z.object({
  kind: z.enum(INCIDENT_TIMESTAMP_KINDS),
  label: z.string().describe('the kind in words, e.g. "Impact started"'),
  at: z.string().nullable().describe('ISO 8601; null when not set'),
  source: z.enum(sources).nullable().describe('auto (from a status change), pagerduty (earliest PagerDuty time) or user (set by a person, never overwritten)'),
  reason: z.string().nullable(),
  set_by: z.object({ id: z.string(), name: z.string() }).nullable(),
});

const seconds = z.number().int().nullable();
export const durationsJson = z.object({
  time_to_acknowledge_seconds: seconds.describe("from reported (or PagerDuty's first trigger when earlier) to PagerDuty's first acknowledgement; without one, to the acceptance of a triage incident"),
  time_to_identify_seconds: seconds.describe('reported → identified'),
  time_to_fix_seconds: seconds.describe('reported → fixed'),
  time_to_resolve_seconds: seconds.describe('reported → resolved'),
  impact_duration_seconds: seconds.describe('impact started → fixed, or → resolved when fixed is not set'),
});

export function timesToJson(t: Pick<IncidentTimes, 'timestamps' | 'durations'>) {
  return {
    timestamps: t.timestamps.map((x) => ({ kind: x.kind, label: x.label, at: x.at, source: x.source, reason: x.reason, set_by: x.setBy })),
    durations: t.durations,
  };
}

const timesResponse = z.object({ timestamps: z.array(timestampJson), durations: durationsJson });
const incidentParams = z.strictObject({ incident_id: z.string().trim().min(1).max(64) });

export function registerTimestampRoutes(app: App, deps: { incidents: IncidentsService }): void {
  const ts = deps.incidents.timestamps;
  app.get(
    '/api/v1/incidents/:incident_id/timestamps',
    { onRequest: requireAccess('read'), schema: { tags: ['incidents'], summary: "An incident's timestamps and the durations derived from them", params: incidentParams, response: { 200: timesResponse } } },
    async (req) => timesToJson(await ts.get(req.params.incident_id)),
  );
  app.put(
    '/api/v1/incidents/:incident_id/timestamps/:kind',
    {
      onRequest: requireAccess('write'),
      schema: {
        tags: ['incidents'],
        summary: 'Set (or with at null clear) one timestamp, with a reason; PagerDuty\'s times are not editable',
        description: 'Order: impact started ≤ identified ≤ fixed ≤ resolved, reported ≤ resolved; none in the future. A time out of order is refused (400 timestamps_out_of_order) naming both.',
        params: z.strictObject({ incident_id: z.string().trim().min(1).max(64), kind: z.enum(INCIDENT_TIMESTAMP_KINDS).describe(`one of ${EDITABLE_KINDS.join(', ')} (PagerDuty's times are refused)`) }),
        body: z.strictObject({
          at: z.iso.datetime({ offset: true }).nullable().describe('ISO 8601 with a zone (Z or an offset); null clears it'),
          reason: z.string().trim().min(1, 'must not be empty').max(500),
        }),
        response: { 200: timesResponse },
      },
    },
    async (req) => {
      const { incidentId } = await ts.set(req.params.incident_id, req.params.kind, req.body.at, req.body.reason, actorOf(req.principal!));
      return timesToJson(await ts.get(incidentId));
    },
  );
}
