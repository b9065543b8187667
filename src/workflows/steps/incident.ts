import { ValidationError } from '../../platform/errors.js';
import type { Step } from '../model.js';
import { asList, isEntry, quote, type StepKind } from './types.js';

// Steps that change the incident through IncidentsService, as the workflow (actor kind 'workflow'): the change's
// domain event carries that actor, so the engine knows the workflow made it (no re-trigger; chains counted).

type SetSeverity = Extract<Step, { type: 'set_severity' }>;
type SetLead = Extract<Step, { type: 'set_lead' }>;
type SetField = Extract<Step, { type: 'set_custom_field' }>;
type Note = Extract<Step, { type: 'timeline_note' }>;

export const setSeverityStep: StepKind<SetSeverity> = {
  async resolve(step, ctx) {
    const severities = await ctx.incidents.listSeverities();
    const want = step.severity.trim().toLowerCase();
    const sev = severities.find((s) => s.name.toLowerCase() === want || s.id === step.severity);
    if (!sev) throw new ValidationError(`No severity is called ${JSON.stringify(step.severity)}.`);
    const same = sev.id === ctx.incident.severity.id;
    return { inputs: { severity: { id: sev.id, name: sev.name } }, would: same ? `Leave the severity at ${sev.name} (it already is)` : `Set the severity from ${ctx.incident.severity.name} to ${sev.name}` };
  },
  async execute(inputs, ctx) {
    const sev = inputs.severity as { id: string; name: string };
    const inc = await ctx.incidents.changeSeverity(ctx.incidentId, sev.id, ctx.actor);
    return { severity: inc.severity.name };
  },
};

export const setLeadStep: StepKind<SetLead> = {
  async resolve(step, ctx) {
    let userId = step.user_id ?? null;
    let email: string | null = null;
    if (step.user_expression) {
      const v = asList(await ctx.evaluate(step.user_expression))[0];
      if (typeof v === 'string' && v.includes('@')) email = v.toLowerCase();
      else if (typeof v === 'string') userId = v;
      else if (v && typeof v === 'object' && typeof (v as { email?: unknown }).email === 'string') email = (v as { email: string }).email.toLowerCase();
    }
    const q = ctx.db.selectFrom('users').select(['id', 'name', 'email']);
    const u = email ? await q.where('email', '=', email).executeTakeFirst() : userId ? await q.where('id', '=', userId).executeTakeFirst() : undefined;
    if (!u) throw new ValidationError(`No Firebreak user matches ${JSON.stringify(email ?? userId ?? 'nothing')}, so there is nobody to make lead.`);
    return { inputs: { user: { id: u.id, name: u.name, email: u.email } }, would: `Make ${u.name} the lead` };
  },
  async execute(inputs, ctx) {
    const u = inputs.user as { id: string; name: string };
    await ctx.incidents.setLead(ctx.incidentId, u.id, ctx.actor);
    return { lead: u.name };
  },
};

export const setCustomFieldStep: StepKind<SetField> = {
  async resolve(step, ctx) {
    let value: unknown = step.value ?? null;
    let shown: string;
    if (step.value_expression) {
      const v = await ctx.evaluate(step.value_expression);
      const items = Array.isArray(v) ? v : [v];
      value = Array.isArray(v) ? items.map((x) => (isEntry(x) ? x.id : x)) : isEntry(v) ? v.id : v;
      shown = items.map((x) => (isEntry(x) ? x.name : String(x ?? ''))).join(', ');
    } else {
      shown = Array.isArray(value) ? value.join(', ') : String(value ?? '');
    }
    return { inputs: { field_key: step.field_key, value }, would: `Set the custom field ${step.field_key} to ${quote(shown || '(nothing)')}` };
  },
  async execute(inputs, ctx) {
    await ctx.incidents.updateIncident(ctx.incidentId, { customFieldValues: { [inputs.field_key as string]: inputs.value } }, ctx.actor);
    return { field_key: inputs.field_key, value: inputs.value };
  },
};

export const timelineNoteStep: StepKind<Note> = {
  async resolve(step, ctx) {
    const text = await ctx.render(step.text);
    return { inputs: { text }, would: `Add the note ${quote(text, 120)} to the timeline` };
  },
  async execute(inputs, ctx) {
    // The dedupe key makes a retried note one note.
    const item = await ctx.incidents.addNote(ctx.incidentId, inputs.text as string, ctx.actor, ctx.idempotencyKey);
    return { timeline_item_id: item?.id ?? null };
  },
};
