// The trigger: one per workflow, with its options (which changes an "updated" trigger listens to, which PagerDuty
// escalation states, the form a manual run asks for).
import { Field } from '../ui.js';
import type { FormField, Trigger, TriggerType } from './api.js';
import { useProblemAt } from './check.js';
import { TRIGGER_TYPES } from './words.js';

const CHANGES = [
  { value: 'status', label: 'Status' },
  { value: 'severity', label: 'Severity' },
  { value: 'lead', label: 'Lead' },
  { value: 'custom_field', label: 'A custom field' },
] as const;

export function defaultTrigger(type: TriggerType): Trigger {
  switch (type) {
    case 'incident.updated':
      return { type, changes: ['severity'] };
    case 'pagerduty.escalation_target_changed':
      return { type, statuses: ['acknowledged'] };
    case 'manual':
      return { type };
    default:
      return { type } as Trigger;
  }
}

function toggle<T>(list: readonly T[], v: T, on: boolean): T[] {
  return on ? [...list.filter((x) => x !== v), v] : list.filter((x) => x !== v);
}

export function TriggerPicker({ trigger, onChange, fields }: { trigger: Trigger; onChange: (t: Trigger) => void; fields: { key: string; name: string }[] }) {
  const problem = useProblemAt('trigger');
  return (
    <div className="form">
      <Field label="When" error={problem?.message}>
        {(p) => (
          <select {...p} value={trigger.type} onChange={(e) => onChange(defaultTrigger(e.target.value as TriggerType))}>
            {TRIGGER_TYPES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {trigger.type === 'incident.updated' ? (
        <fieldset className="field wf-checks">
          <legend>Any of these changed</legend>
          {CHANGES.map((c) => (
            <label key={c.value} className="choice">
              <input type="checkbox" checked={trigger.changes.includes(c.value)} onChange={(e) => onChange({ ...trigger, changes: toggle(trigger.changes, c.value, e.target.checked) })} /> {c.label}
            </label>
          ))}
          {trigger.changes.includes('custom_field') && fields.length > 0 ? (
            <div className="wf-sub">
              <p className="hint">Which custom fields (none ticked: any of them)</p>
              {fields.map((f) => (
                <label key={f.key} className="choice">
                  <input
                    type="checkbox"
                    checked={trigger.custom_field_keys?.includes(f.key) ?? false}
                    onChange={(e) => {
                      const keys = toggle(trigger.custom_field_keys ?? [], f.key, e.target.checked);
                      onChange({ ...trigger, custom_field_keys: keys.length ? keys : undefined });
                    }}
                  />{' '}
                  {f.name}
                </label>
              ))}
            </div>
          ) : null}
        </fieldset>
      ) : null}
      {trigger.type === 'pagerduty.escalation_target_changed' ? (
        <fieldset className="field wf-checks">
          <legend>When the PagerDuty incident is</legend>
          {(['acknowledged', 'resolved'] as const).map((s) => (
            <label key={s} className="choice">
              <input type="checkbox" checked={trigger.statuses.includes(s)} onChange={(e) => onChange({ ...trigger, statuses: toggle(trigger.statuses, s, e.target.checked) })} /> {s === 'acknowledged' ? 'Acknowledged' : 'Resolved'}
            </label>
          ))}
        </fieldset>
      ) : null}
      {trigger.type === 'manual' ? <FormEditor form={trigger.form ?? []} onChange={(form) => onChange({ type: 'manual', form: form.length ? form : undefined })} /> : null}
    </div>
  );
}

/** The small form a manual run asks for (a modal in Slack, a dialog on the incident page). */
function FormEditor({ form, onChange }: { form: FormField[]; onChange: (f: FormField[]) => void }) {
  const set = (i: number, f: FormField) => onChange(form.map((x, j) => (j === i ? f : x)));
  return (
    <fieldset className="field wf-checks">
      <legend>Form shown before a run (optional)</legend>
      {form.map((f, i) => (
        <div key={i} className="wf-form-field" role="group" aria-label={`Form field ${i + 1}`}>
          <div className="form-row">
            <Field label="Label">{(p) => <input {...p} value={f.label} onChange={(e) => set(i, { ...f, label: e.target.value })} />}</Field>
            <Field label="Key" hint={`Read as inputs.${f.key || 'key'}`}>
              {(p) => <input {...p} className="mono" value={f.key} onChange={(e) => set(i, { ...f, key: e.target.value })} />}
            </Field>
            <Field label="Type">
              {(p) => (
                <select {...p} value={f.type} onChange={(e) => set(i, { ...f, type: e.target.value as FormField['type'], options: e.target.value === 'select' ? (f.options ?? []) : undefined })}>
                  <option value="text">Text</option>
                  <option value="number">Number</option>
                  <option value="select">Choice</option>
                </select>
              )}
            </Field>
          </div>
          {f.type === 'select' ? (
            <Field label="Choices" hint="Separate them with commas.">
              {(p) => <input {...p} value={(f.options ?? []).join(', ')} onChange={(e) => set(i, { ...f, options: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) })} />}
            </Field>
          ) : null}
          <div className="form-actions">
            <label className="choice">
              <input type="checkbox" checked={!!f.required} onChange={(e) => set(i, { ...f, required: e.target.checked || undefined })} /> Required
            </label>
            <button type="button" className="button-small button-quiet" onClick={() => onChange(form.filter((_, j) => j !== i))}>
              Remove field
            </button>
          </div>
        </div>
      ))}
      <div className="form-actions">
        <button type="button" className="button-small" disabled={form.length >= 10} onClick={() => onChange([...form, { key: `field_${form.length + 1}`, label: '', type: 'text' }])}>
          Add a form field
        </button>
      </div>
    </fieldset>
  );
}
