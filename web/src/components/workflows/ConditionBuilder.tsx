// The condition builder: groups of conditions (all in a group hold; any group holding is a match). Each condition
// is a subject picked from the incident's fields, custom fields and catalog paths, an operator in words and a
// value fitting the subject (severities and statuses by name, catalog entries with the catalog picker, text), or a
// raw expression. Each is checked with the rest of the workflow as you type.
import { useId } from 'react';
import { CatalogEntryPicker, useEntryNames } from '../CatalogEntryPicker.js';
import { Field } from '../ui.js';
import type { Condition, ConditionGroup, ConditionOperator } from './api.js';
import { ExpressionField, useProblemAt } from './check.js';
import { operatorsFor, takesList, takesValue, type Subject } from './subjects.js';
import { OPERATOR_WORDS } from './words.js';

export interface ConditionData {
  subjects: Subject[];
  severities: string[];
  statuses: string[];
}

const RAW = '__raw__';
const OTHER = '__other__';

export function ConditionBuilder({ groups, onChange, data }: { groups: ConditionGroup[]; onChange: (g: ConditionGroup[]) => void; data: ConditionData }) {
  const setGroup = (gi: number, g: ConditionGroup | null) => onChange(g ? groups.map((x, i) => (i === gi ? g : x)) : groups.filter((_, i) => i !== gi));
  const first = data.subjects[0]?.expression ?? 'incident.severity';
  const blank = (): Condition => ({ subject: first, operator: 'is_set' });
  return (
    <div className="wf-groups">
      {groups.length === 0 ? <p className="muted small">No conditions: the workflow runs for every incident its trigger fires for.</p> : null}
      {groups.map((g, gi) => (
        <div key={gi}>
          {gi > 0 ? <p className="wf-or">or</p> : null}
          <fieldset className="wf-group" aria-label={`Condition group ${gi + 1}`}>
            <legend>{groups.length > 1 ? `Group ${gi + 1}: all of these hold` : 'All of these hold'}</legend>
            {g.all.map((c, ci) => (
              <ConditionRow
                key={ci}
                path={`conditions.${gi}.all.${ci}`}
                label={`Condition ${gi + 1}.${ci + 1}`}
                condition={c}
                data={data}
                onChange={(next) => setGroup(gi, { all: g.all.map((x, i) => (i === ci ? next : x)) })}
                onRemove={() => setGroup(gi, g.all.length > 1 ? { all: g.all.filter((_, i) => i !== ci) } : null)}
              />
            ))}
            <div className="form-actions">
              <button type="button" className="button-small" onClick={() => setGroup(gi, { all: [...g.all, blank()] })}>
                Add a condition
              </button>
            </div>
          </fieldset>
        </div>
      ))}
      <div className="form-actions">
        <button type="button" className="button-small" onClick={() => onChange([...groups, { all: [blank()] }])}>
          {groups.length === 0 ? 'Add a condition' : 'Add another group (or)'}
        </button>
      </div>
    </div>
  );
}

function ConditionRow({ path, label, condition, data, onChange, onRemove }: { path: string; label: string; condition: Condition; data: ConditionData; onChange: (c: Condition) => void; onRemove: () => void }) {
  const problem = useProblemAt(path);
  if ('expression' in condition) {
    return (
      <div className="wf-condition" role="group" aria-label={label}>
        <div className="wf-condition-row">
          <SubjectSelect value={RAW} data={data} onPick={(v) => onChange(v === RAW ? condition : v === OTHER ? { subject: '', operator: 'is_set' } : { subject: v, operator: 'is_set' })} />
          <button type="button" className="button-small button-quiet" onClick={onRemove} aria-label={`Remove ${label}`}>
            Remove
          </button>
        </div>
        <ExpressionField label="Expression (true or false)" path={`${path}.expression`} value={condition.expression} onChange={(expression) => onChange({ expression })} rows={2} placeholder='incident.severity.rank >= severity("Critical").rank' />
      </div>
    );
  }
  const subject = data.subjects.find((s) => s.expression === condition.subject);
  const ops = operatorsFor(subject);
  const op = condition.operator;
  const setOp = (operator: ConditionOperator) => {
    const next: Condition = { subject: condition.subject, operator };
    if (takesValue(operator)) {
      const v = condition.value;
      const list = Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v as string | number];
      const one = Array.isArray(v) ? v[0] : v;
      if (takesList(operator)) next.value = list;
      else if (one !== undefined) next.value = one;
    }
    onChange(next);
  };
  return (
    <div className={`wf-condition${problem ? ' field-invalid' : ''}`} role="group" aria-label={label}>
      <div className="wf-condition-row">
        <SubjectSelect
          value={subject ? subject.expression : OTHER}
          data={data}
          onPick={(v) => {
            if (v === RAW) onChange({ expression: condition.subject ? `has(${condition.subject})` : 'true' });
            else if (v === OTHER) onChange({ subject: condition.subject, operator: op });
            else {
              const s = data.subjects.find((x) => x.expression === v);
              const allowed = operatorsFor(s);
              onChange({ subject: v, operator: allowed.includes(op) && !takesValue(op) ? op : 'is_set' });
            }
          }}
        />
        <Field label="Operator">
          {(p) => (
            <select {...p} value={op} onChange={(e) => setOp(e.target.value as ConditionOperator)}>
              {(ops.includes(op) ? ops : [op, ...ops]).map((o) => (
                <option key={o} value={o}>
                  {OPERATOR_WORDS[o]}
                </option>
              ))}
            </select>
          )}
        </Field>
        {takesValue(op) ? <ValueControl subject={subject} condition={condition} data={data} onChange={(value) => onChange({ subject: condition.subject, operator: op, value })} /> : null}
        <button type="button" className="button-small button-quiet" onClick={onRemove} aria-label={`Remove ${label}`}>
          Remove
        </button>
      </div>
      {!subject ? <ExpressionField label="Subject (an expression)" path={`${path}.subject`} value={condition.subject} onChange={(s) => onChange({ ...condition, subject: s })} placeholder="incident.custom_fields.affected_services.map(s, s.teams)" /> : null}
      {problem && subject ? <span className="field-error">{problem.message}</span> : null}
    </div>
  );
}

function SubjectSelect({ value, data, onPick }: { value: string; data: ConditionData; onPick: (v: string) => void }) {
  const groups = ['Incident', 'Custom fields', 'Catalog'] as const;
  return (
    <Field label="Subject">
      {(p) => (
        <select {...p} value={value} onChange={(e) => onPick(e.target.value)}>
          {groups.map((g) => {
            const items = data.subjects.filter((s) => s.group === g);
            if (items.length === 0) return null;
            return (
              <optgroup key={g} label={g}>
                {items.map((s) => (
                  <option key={s.expression} value={s.expression}>
                    {s.label}
                  </option>
                ))}
              </optgroup>
            );
          })}
          <optgroup label="Other">
            <option value={OTHER}>Another subject (an expression)…</option>
            <option value={RAW}>A condition written as an expression…</option>
          </optgroup>
        </select>
      )}
    </Field>
  );
}

type SubjectCondition = Extract<Condition, { subject: string }>;
type Value = SubjectCondition['value'];

function ValueControl({ subject, condition, data, onChange }: { subject: Subject | undefined; condition: SubjectCondition; data: ConditionData; onChange: (v: Value) => void }) {
  const op = condition.operator;
  const many = takesList(op);
  const current = condition.value;
  const asList = (Array.isArray(current) ? current : current === undefined || current === '' ? [] : [current]).map(String);
  const known = subject?.kind === 'severity' ? data.severities : subject?.kind === 'status' ? data.statuses : subject?.kind === 'options' ? (subject.options ?? []) : null;
  // A value that no longer exists (a renamed severity, an option removed) stays shown, so saving keeps what is there.
  const choices = known ? [...known, ...asList.filter((v) => !known.includes(v))] : null;

  if (subject?.kind === 'catalog' && subject.catalogType) {
    return <CatalogValue typeName={subject.catalogType} multiple={many} ids={asList} onChange={(ids) => onChange(many ? ids : (ids[0] ?? ''))} />;
  }
  if (choices) {
    if (many) {
      return (
        <fieldset className="field wf-checks">
          <legend>Values</legend>
          {choices.map((c) => (
            <label key={c} className="choice">
              <input type="checkbox" checked={asList.includes(c)} onChange={(e) => onChange(e.target.checked ? [...asList, c] : asList.filter((x) => x !== c))} /> {c}
            </label>
          ))}
        </fieldset>
      );
    }
    return (
      <Field label="Value">
        {(p) => (
          <select {...p} value={asList[0] ?? ''} onChange={(e) => onChange(e.target.value)}>
            <option value="" disabled>
              Choose…
            </option>
            {choices.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        )}
      </Field>
    );
  }
  const numeric = subject?.kind === 'number';
  return (
    <Field label={many ? 'Values' : 'Value'} hint={many ? 'Separate them with commas.' : subject?.kind === 'person' ? 'An email address.' : undefined}>
      {(p) => (
        <input
          {...p}
          value={asList.join(many ? ', ' : '')}
          inputMode={numeric ? 'decimal' : undefined}
          onChange={(e) => {
            const raw = e.target.value;
            const conv = (s: string) => (numeric && s.trim() !== '' && !Number.isNaN(Number(s)) ? Number(s) : s);
            onChange(many ? raw.split(',').map((s) => conv(s.trim())).filter((s) => s !== '') : conv(raw));
          }}
        />
      )}
    </Field>
  );
}

function CatalogValue({ typeName, multiple, ids, onChange }: { typeName: string; multiple: boolean; ids: string[]; onChange: (ids: string[]) => void }) {
  const id = useId();
  const named = useEntryNames(ids);
  return (
    <div className="field wf-value-wide">
      <label htmlFor={id}>{multiple ? 'Entries' : 'Entry'}</label>
      <CatalogEntryPicker id={id} typeId={typeName} multiple={multiple} value={named} onChange={(next) => onChange(next.map((e) => e.id))} />
    </div>
  );
}
