import { z } from 'zod';
import { ValidationError } from '../../../platform/errors.js';
import type { App } from '../../../platform/http/server.js';
import { requireAccess } from '../../../users/auth.js';
import type { OnCallAnswer, OnCallPerson, OnCallService, OnCallSubjectKind } from './oncall.service.js';
import { answerSummary, utcTime, wouldPage } from './text.js';

// GET /api/v1/integrations/pagerduty/oncall: who is on call now for one PagerDuty service, escalation policy, team
// or schedule (PagerDuty ids, as the catalog's external ids). Read access. PagerDuty's failures are part of the
// answer (`state: unavailable` with what happened), so a page shows them beside everything else it shows.

// A catalog external id: PagerDuty's id, prefixed `<account>:` for an account other than the first.
const pdId = z.string().trim().min(1).max(80).regex(/^([a-z0-9]+:)?[A-Za-z0-9_-]+$/, 'a PagerDuty id (letters and digits), or <account>:<id>');
const personJson = z.object({
  user: z.object({ id: z.string(), name: z.string(), email: z.string().nullable(), firebreak_user: z.object({ id: z.string(), name: z.string() }).nullable() }),
  start: z.string().nullable(),
  until: z.string().nullable(),
  via: z.object({ type: z.literal('schedule'), id: z.string(), name: z.string() }).nullable(),
});
const answerJson = z.object({
  subject: z.object({ type: z.enum(['service', 'escalation_policy', 'team', 'schedule']), id: z.string(), name: z.string() }),
  state: z.enum(['ok', 'unavailable']),
  error: z.object({ code: z.enum(['not_connected', 'not_found', 'timeout', 'rate_limited', 'refused', 'upstream']), message: z.string() }).nullable(),
  note: z.string().nullable(),
  summary: z.string(),
  fetched_at: z.string(),
  policies: z.array(z.object({ id: z.string(), name: z.string(), would_page: z.string(), levels: z.array(z.object({ level: z.number().int(), people: z.array(personJson) })) })),
  schedule: z.object({ id: z.string(), name: z.string(), time_zone: z.string().nullable(), people: z.array(personJson) }).nullable(),
});

const personOut = (p: OnCallPerson): z.infer<typeof personJson> => ({
  user: { id: p.user.id, name: p.user.name, email: p.user.email, firebreak_user: p.user.firebreakUser ? { id: p.user.firebreakUser.id, name: p.user.firebreakUser.name } : null },
  start: p.start,
  until: p.until,
  via: p.via ? { type: 'schedule', id: p.via.id, name: p.via.name } : null,
});

export function answerToJson(a: OnCallAnswer, now = Date.now()): z.infer<typeof answerJson> {
  return {
    subject: { type: a.subject.kind, id: a.subject.id, name: a.subject.name },
    state: a.state,
    error: a.error,
    note: a.note,
    summary: answerSummary(a, utcTime(now)),
    fetched_at: a.fetchedAt,
    policies: a.policies.map((p) => ({ id: p.id, name: p.name, would_page: wouldPage(p), levels: p.levels.map((l) => ({ level: l.level, people: l.people.map(personOut) })) })),
    schedule: a.schedule ? { id: a.schedule.id, name: a.schedule.name, time_zone: a.schedule.timeZone, people: a.schedule.people.map(personOut) } : null,
  };
}

const KINDS: [keyof Query, OnCallSubjectKind][] = [
  ['service_id', 'service'],
  ['escalation_policy_id', 'escalation_policy'],
  ['team_id', 'team'],
  ['schedule_id', 'schedule'],
];
type Query = { service_id?: string; escalation_policy_id?: string; team_id?: string; schedule_id?: string };

export function registerOnCallRoutes(app: App, oncall: OnCallService): void {
  app.get(
    '/api/v1/integrations/pagerduty/oncall',
    {
      onRequest: requireAccess('read'),
      schema: {
        tags: ['pagerduty'],
        summary:
          'Who is on call now for one PagerDuty service (its escalation policy), escalation policy, team (its policies in the catalog) or schedule, by escalation level with names; asked of PagerDuty live and kept a minute. When PagerDuty cannot answer, `state` is `unavailable` and `error` says why.',
        querystring: z.strictObject({ service_id: pdId.optional(), escalation_policy_id: pdId.optional(), team_id: pdId.optional(), schedule_id: pdId.optional() }),
        response: { 200: z.object({ oncall: answerJson }) },
      },
    },
    async (req) => {
      const given = KINDS.filter(([k]) => req.query[k] !== undefined);
      if (given.length !== 1) {
        throw new ValidationError('Give exactly one of service_id, escalation_policy_id, team_id or schedule_id.', (given.length ? given : KINDS).map(([k]) => ({ path: k, message: given.length ? 'only one subject at a time' : 'one of these is required' })));
      }
      const [k, kind] = given[0]!;
      return { oncall: answerToJson(await oncall.lookup(kind, req.query[k]!)) };
    },
  );
}
