import { z } from 'zod';

// PagerDuty webhooks v3 (one event per delivery), parsed with zod where they come in instead of cast where they
// are used. Schemas are loose: PagerDuty adds fields over time and Firebreak reads only these, so unknown fields
// pass and a missing optional one is simply absent. An incident event carries the incident as `data` in the
// webhook's own shape (`number`, `assignees`, not REST's `incident_number`, `assignments`); `incident.annotated`
// carries the note, with the incident as a reference.

const ref = z.looseObject({
  id: z.string(),
  type: z.string().optional(),
  summary: z.string().nullish(),
  self: z.string().nullish(),
  html_url: z.string().nullish(),
});

/** An incident as incident events carry it. */
const incidentData = z.looseObject({
  id: z.string(),
  type: z.string().optional(),
  number: z.number().int().nullish(),
  title: z.string().nullish(),
  status: z.string().nullish(),
  urgency: z.string().nullish(),
  html_url: z.string().nullish(),
  incident_key: z.string().nullish(),
  service: ref.nullish(),
  priority: ref.nullish(),
  teams: z.array(ref).nullish(),
  assignees: z.array(ref).nullish(),
});

/** `incident.annotated`: the note, with its incident as a reference. */
const noteData = z.looseObject({
  id: z.string().optional(),
  type: z.string().optional(),
  incident: ref,
  content: z.string().nullish(),
});

/** `incident.responder.added` / `.replied`: one responder (data type `incident_responder`), its incident a reference. */
const responderData = z.looseObject({
  type: z.string().optional(),
  incident: ref,
  user: ref,
  escalation_policy: ref.nullish(),
  message: z.string().nullish(),
  state: z.string().nullish(),
});

const serviceData = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  summary: z.string().nullish(),
  description: z.string().nullish(),
  status: z.string().nullish(),
  html_url: z.string().nullish(),
  escalation_policy: ref.nullish(),
  teams: z.array(ref).nullish(),
});

const envelope = z.object({
  event: z.looseObject({
    id: z.string().min(1),
    event_type: z.string().min(1),
    resource_type: z.string(),
    occurred_at: z.string(),
    agent: ref.nullish(),
    client: z.looseObject({ name: z.string().nullish() }).nullish(),
    data: z.record(z.string(), z.unknown()).nullish(),
  }),
});

export type PdEventRef = z.infer<typeof ref>;
export type PdIncidentEventData = z.infer<typeof incidentData>;
export type PdNoteEventData = z.infer<typeof noteData>;
export type PdResponderEventData = z.infer<typeof responderData>;
export type PdServiceEventData = z.infer<typeof serviceData>;

interface EventBase {
  id: string;
  /** The Firebreak account whose subscription delivered it (set when applied; 'default' is the first account). */
  account?: string;
  event_type: string;
  occurred_at: string;
  agent: PdEventRef | null;
}

/** One webhook event, its data typed by what it is about. */
export type PdWebhookEvent =
  | (EventBase & { resource_type: 'incident'; kind: 'incident'; data: PdIncidentEventData })
  | (EventBase & { resource_type: 'incident'; kind: 'note'; data: PdNoteEventData })
  | (EventBase & { resource_type: 'incident'; kind: 'responder'; data: PdResponderEventData })
  | (EventBase & { resource_type: 'service'; kind: 'service'; data: PdServiceEventData })
  | (EventBase & { resource_type: string; kind: 'other'; data: Record<string, unknown> });

export type PdIncidentEvent = Extract<PdWebhookEvent, { kind: 'incident' | 'note' }>;

/** Why a body is not a webhook event Firebreak can read (first problem, with its path). */
export class WebhookEventError extends Error {}

function problem(err: z.ZodError, prefix: string): string {
  const i = err.issues[0];
  const path = [prefix, ...(i?.path ?? [])].filter((p) => p !== '').join('.');
  return `${path || 'body'}: ${i?.message ?? 'invalid'}`;
}

/** Parses a delivery's JSON (already `JSON.parse`d). Throws `WebhookEventError` saying what is wrong. */
export function parseWebhookEvent(json: unknown): PdWebhookEvent {
  const env = envelope.safeParse(json);
  if (!env.success) throw new WebhookEventError(problem(env.error, ''));
  const e = env.data.event;
  const base: EventBase = { id: e.id, event_type: e.event_type, occurred_at: e.occurred_at, agent: e.agent ?? null };
  const data = e.data ?? {};
  const typed = <T>(schema: z.ZodType<T>): T => {
    const r = schema.safeParse(data);
    if (!r.success) throw new WebhookEventError(problem(r.error, 'event.data'));
    return r.data;
  };
  if (e.resource_type === 'incident') {
    if (e.event_type === 'incident.annotated') return { ...base, resource_type: 'incident', kind: 'note', data: typed(noteData) };
    if (e.event_type.startsWith('incident.responder.')) return { ...base, resource_type: 'incident', kind: 'responder', data: typed(responderData) };
    return { ...base, resource_type: 'incident', kind: 'incident', data: typed(incidentData) };
  }
  if (e.resource_type === 'service') return { ...base, resource_type: 'service', kind: 'service', data: typed(serviceData) };
  return { ...base, resource_type: e.resource_type, kind: 'other', data };
}

/** The PagerDuty incident an incident event is about (a note names it as its incident). */
export function incidentIdOf(ev: PdIncidentEvent): string {
  return ev.kind === 'note' ? ev.data.incident.id : ev.data.id;
}
