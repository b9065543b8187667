// The steps of a workflow, in order: add one of each type, remove, move up and down; each type with its own
// fields. Targets come from fixed choices (PagerDuty policies and users from the catalog, Slack channels by name,
// Firebreak people by name) and/or from expressions; texts take {{ expression }} variables. Expression fields are
// checked with the rest of the workflow as you type.
import { useEffect, useId, useState } from 'react';
import { CatalogEntryPicker, type PickedEntry } from '../CatalogEntryPicker.js';
import { ChannelPicker } from '../ChannelPicker.js';
import { fieldsApi } from '../custom-fields/api.js';
import { Field } from '../ui.js';
import type { SlackDestination, Step, StepType } from './api.js';
import { ExpressionField, problemFor, useCheckState, useProblemAt } from './check.js';
import { STEP_TYPES, stepTypeLabel } from './words.js';

export interface StepData {
  severities: string[];
  users: { id: string; name: string; email: string }[];
  fields: { key: string; name: string }[];
}

export function newStep(type: StepType, taken: string[]): Step {
  const base = type.replace(/_/g, '-');
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}-${n}`;
  switch (type) {
    case 'escalate':
      return { id, type, message: '{{ incident.name }}' };
    case 'slack_message':
      return { id, type, destination: { kind: 'incident_channel' }, text: '' };
    case 'invite':
      return { id, type };
    case 'set_severity':
      return { id, type, severity: '' };
    case 'set_lead':
      return { id, type };
    case 'set_custom_field':
      return { id, type, field_key: '' };
    case 'timeline_note':
      return { id, type, text: '' };
    case 'http':
      return { id, type, method: 'POST', url: '' };
  }
}

export function StepsEditor({ steps, onChange, data }: { steps: Step[]; onChange: (s: Step[]) => void; data: StepData }) {
  const [adding, setAdding] = useState<StepType>('escalate');
  const move = (i: number, by: number) => {
    const next = [...steps];
    const [s] = next.splice(i, 1);
    next.splice(i + by, 0, s!);
    onChange(next);
  };
  return (
    <div className="wf-steps">
      {steps.length === 0 ? <p className="muted small">No steps yet: a workflow needs at least one.</p> : null}
      <ol className="wf-step-list">
        {steps.map((s, i) => (
          <li key={i} className="wf-step" aria-label={`Step ${i + 1}: ${stepTypeLabel(s.type)}`}>
            <div className="wf-step-head">
              <strong>
                Step {i + 1}: {stepTypeLabel(s.type)}
              </strong>
              <span className="row-actions">
                <button type="button" className="button-small button-quiet" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move step ${i + 1} up`}>
                  ↑ Up
                </button>
                <button type="button" className="button-small button-quiet" disabled={i === steps.length - 1} onClick={() => move(i, 1)} aria-label={`Move step ${i + 1} down`}>
                  ↓ Down
                </button>
                <button type="button" className="button-small button-quiet" onClick={() => onChange(steps.filter((_, j) => j !== i))} aria-label={`Remove step ${i + 1}`}>
                  Remove
                </button>
              </span>
            </div>
            <StepFields step={s} path={`steps.${i}`} data={data} onChange={(next) => onChange(steps.map((x, j) => (j === i ? next : x)))} />
          </li>
        ))}
      </ol>
      <div className="form-actions">
        <label htmlFor="wf-add-step" className="visually-hidden">
          Step type
        </label>
        <select id="wf-add-step" value={adding} onChange={(e) => setAdding(e.target.value as StepType)} style={{ width: 'auto' }}>
          {STEP_TYPES.map((t) => (
            <option key={t.value} value={t.value}>
              {t.label}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => onChange([...steps, newStep(adding, steps.map((s) => s.id))])}>
          Add step
        </button>
      </div>
    </div>
  );
}

const opt = (s: string) => (s.trim() === '' ? undefined : s);

function StepFields({ step, path, data, onChange }: { step: Step; path: string; data: StepData; onChange: (s: Step) => void }) {
  const idProblem = useProblemAt(`${path}.id`);
  const common = (
    <div className="form-row">
      <Field label="Step id" hint="Names the step in runs; lower-case letters, digits, _ and -." error={idProblem?.message}>
        {(p) => <input {...p} className="mono" value={step.id} onChange={(e) => onChange({ ...step, id: e.target.value })} />}
      </Field>
      <Field label="Name (optional)">{(p) => <input {...p} value={step.name ?? ''} onChange={(e) => onChange({ ...step, name: opt(e.target.value) })} />}</Field>
    </div>
  );
  const coe = (
    <label className="choice">
      <input type="checkbox" checked={!!step.continue_on_error} onChange={(e) => onChange({ ...step, continue_on_error: e.target.checked || undefined })} /> Continue with the next steps if this one fails
    </label>
  );
  return (
    <div className="form wf-step-fields">
      {common}
      <TypeFields step={step} path={path} data={data} onChange={onChange} />
      {coe}
    </div>
  );
}

function TypeFields({ step, path, data, onChange }: { step: Step; path: string; data: StepData; onChange: (s: Step) => void }) {
  const check = useCheckState();
  const messageAt = (p: string) => problemFor(check, p)?.message;
  switch (step.type) {
    case 'escalate':
      return (
        <>
          <PagerDutyIds label="Escalation policies" typeName="PagerDutyEscalationPolicy" ids={step.policy_ids ?? []} onChange={(ids) => onChange({ ...step, policy_ids: ids.length ? ids : undefined })} path={`${path}.policy_ids`} />
          <ExpressionField
            label="Escalation policies from an expression (optional)"
            path={`${path}.policies_expression`}
            value={step.policies_expression ?? ''}
            onChange={(v) => onChange({ ...step, policies_expression: opt(v) })}
            hint="Escalation policies from the catalog, e.g. each affected service's policy. Paged as well as the ones chosen above."
            placeholder="incident.custom_fields.affected_services.map(s, s.escalation_policy)"
          />
          <PagerDutyIds label="PagerDuty users" typeName="PagerDutyUser" ids={step.user_ids ?? []} onChange={(ids) => onChange({ ...step, user_ids: ids.length ? ids : undefined })} path={`${path}.user_ids`} />
          <ExpressionField label="PagerDuty users from an expression (optional)" path={`${path}.users_expression`} value={step.users_expression ?? ''} onChange={(v) => onChange({ ...step, users_expression: opt(v) })} hint="Catalog PagerDuty users, emails or PagerDuty ids." />
          <ExpressionField label="Message" path={`${path}.message`} value={step.message} onChange={(v) => onChange({ ...step, message: v })} rows={2} hint="The PagerDuty incident's title. {{ expression }} parts are filled in." />
          <Field label="Urgency">
            {(p) => (
              <select {...p} value={step.urgency ?? ''} onChange={(e) => onChange({ ...step, urgency: (e.target.value || undefined) as 'high' | 'low' | undefined })}>
                <option value="">The service's default</option>
                <option value="high">High</option>
                <option value="low">Low</option>
              </select>
            )}
          </Field>
        </>
      );
    case 'slack_message':
      return (
        <>
          <Field label="Post to">
            {(p) => (
              <select
                {...p}
                value={step.destination.kind}
                onChange={(e) => {
                  const kind = e.target.value as SlackDestination['kind'];
                  const destination: SlackDestination = kind === 'channel' ? { kind, channel_id: '' } : kind === 'dm' ? { kind } : { kind: 'incident_channel' };
                  onChange({ ...step, destination });
                }}
              >
                <option value="incident_channel">The incident's channel</option>
                <option value="channel">A channel</option>
                <option value="dm">Direct messages to people</option>
              </select>
            )}
          </Field>
          {step.destination.kind === 'channel' ? (
            <ChannelPicker
              label="Channel"
              hint="Type part of the channel's name."
              value={step.destination.channel_id}
              onChange={(channel_id) => onChange({ ...step, destination: { kind: 'channel', channel_id } })}
              error={messageAt(`${path}.destination`)}
            />
          ) : null}
          {step.destination.kind === 'dm' ? (
            <>
              <PeoplePicker label="People" users={data.users} ids={step.destination.user_ids ?? []} onChange={(ids) => onChange({ ...step, destination: { ...(step.destination as { kind: 'dm' }), user_ids: ids.length ? ids : undefined } })} />
              <ExpressionField
                label="People from an expression (optional)"
                path={`${path}.destination.users_expression`}
                value={step.destination.users_expression ?? ''}
                onChange={(v) => onChange({ ...step, destination: { ...(step.destination as { kind: 'dm' }), users_expression: opt(v) } })}
              />
            </>
          ) : null}
          <ExpressionField label="Text" path={`${path}.text`} value={step.text} onChange={(v) => onChange({ ...step, text: v })} rows={3} hint="{{ expression }} parts are filled in, e.g. {{ incident.severity.name }}." />
        </>
      );
    case 'invite':
      return (
        <>
          <PeoplePicker label="People" users={data.users} ids={step.user_ids ?? []} onChange={(ids) => onChange({ ...step, user_ids: ids.length ? ids : undefined })} />
          <ExpressionField label="People from an expression (optional)" path={`${path}.users_expression`} value={step.users_expression ?? ''} onChange={(v) => onChange({ ...step, users_expression: opt(v) })} />
          <Field label="Slack user group id (optional)" hint="Its members are invited, e.g. S0123ABCD.">
            {(p) => <input {...p} className="mono" value={step.slack_usergroup_id ?? ''} onChange={(e) => onChange({ ...step, slack_usergroup_id: opt(e.target.value) })} />}
          </Field>
        </>
      );
    case 'set_severity':
      return (
        <Field label="Severity" error={messageAt(`${path}.severity`)}>
          {(p) => (
            <select {...p} value={step.severity} onChange={(e) => onChange({ ...step, severity: e.target.value })}>
              <option value="" disabled>
                Choose…
              </option>
              {data.severities.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          )}
        </Field>
      );
    case 'set_lead':
      return (
        <>
          <Field label="Person">
            {(p) => (
              <select {...p} value={step.user_id ?? ''} onChange={(e) => onChange({ ...step, user_id: opt(e.target.value) })}>
                <option value="">From the expression below</option>
                {data.users.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <ExpressionField label="Person from an expression (optional)" path={`${path}.user_expression`} value={step.user_expression ?? ''} onChange={(v) => onChange({ ...step, user_expression: opt(v) })} hint="A person, or an email." />
        </>
      );
    case 'set_custom_field':
      return (
        <>
          <Field label="Custom field" error={messageAt(`${path}.field_key`)}>
            {(p) => (
              <select {...p} value={step.field_key} onChange={(e) => onChange({ ...step, field_key: e.target.value })}>
                <option value="" disabled>
                  Choose…
                </option>
                {data.fields.map((f) => (
                  <option key={f.key} value={f.key}>
                    {f.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <ExpressionField label="Value (an expression)" path={`${path}.value_expression`} value={step.value_expression ?? ''} onChange={(v) => onChange({ ...step, value_expression: opt(v) })} hint='Catalog entries, text, numbers or a list, e.g. "EU" or incident.custom_fields.affected_services.' />
        </>
      );
    case 'timeline_note':
      return <ExpressionField label="Note" path={`${path}.text`} value={step.text} onChange={(v) => onChange({ ...step, text: v })} rows={3} hint="{{ expression }} parts are filled in." />;
    case 'http':
      return (
        <>
          <div className="form-row">
            <Field label="Method">
              {(p) => (
                <select {...p} value={step.method} onChange={(e) => onChange({ ...step, method: e.target.value as 'POST' | 'PUT' | 'PATCH' })}>
                  <option>POST</option>
                  <option>PUT</option>
                  <option>PATCH</option>
                </select>
              )}
            </Field>
          </div>
          <ExpressionField label="URL" path={`${path}.url`} value={step.url} onChange={(v) => onChange({ ...step, url: v })} placeholder="https://hooks.example.com/firebreak" />
          <ExpressionField label="Body (optional)" path={`${path}.body`} value={step.body ?? ''} onChange={(v) => onChange({ ...step, body: opt(v) })} rows={3} hint="JSON text with {{ expression }} parts; empty sends the run as JSON. Signed with the workflow's secret (X-Firebreak-Signature)." />
        </>
      );
  }
}

function PeoplePicker({ label, users, ids, onChange }: { label: string; users: StepData['users']; ids: string[]; onChange: (ids: string[]) => void }) {
  return (
    <fieldset className="choice-list">
      <legend>{label}</legend>
      {users.length === 0 ? <p className="muted small">No people to choose from.</p> : null}
      {users.map((u) => (
        <label key={u.id} className="choice">
          <input type="checkbox" checked={ids.includes(u.id)} onChange={(e) => onChange(e.target.checked ? [...ids, u.id] : ids.filter((x) => x !== u.id))} /> {u.name} <span className="muted small">{u.email}</span>
        </label>
      ))}
    </fieldset>
  );
}

/** PagerDuty ids chosen by name with the catalog picker (policies, users); the ids already chosen are shown by name. */
function PagerDutyIds({ label, typeName, ids, onChange, path }: { label: string; typeName: string; ids: string[]; onChange: (ids: string[]) => void; path: string }) {
  const id = useId();
  const problem = useProblemAt(path);
  const named = useExternalNames(typeName, ids);
  return (
    <div className={`field${problem ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label} (optional)</label>
      <CatalogEntryPicker id={id} typeId={typeName} multiple value={named} onChange={(next) => onChange(next.map((e) => e.externalId ?? e.id))} />
      {problem ? <span className="field-error">{problem.message}</span> : null}
    </div>
  );
}

/** Catalog entries of a type known by their external (PagerDuty) id, with their names looked up once each. */
function useExternalNames(typeName: string, externalIds: string[]): PickedEntry[] {
  const [names, setNames] = useState<Record<string, string>>({});
  const key = externalIds.join(',');
  useEffect(() => {
    let live = true;
    for (const ext of externalIds) {
      if (names[ext]) continue;
      fieldsApi.searchEntries(typeName, ext, 5).then(
        (found) => live && setNames((n) => ({ ...n, [ext]: found.find((e) => e.external_id === ext)?.name ?? ext })),
        () => live && setNames((n) => ({ ...n, [ext]: ext })),
      );
    }
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, typeName]);
  return externalIds.map((ext) => ({ id: ext, name: names[ext] ?? '…', externalId: ext }));
}
