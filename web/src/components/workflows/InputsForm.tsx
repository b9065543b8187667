// The values of a manual workflow's form (its `inputs`), one control per field.
import { Field } from '../ui.js';
import type { FormField } from './api.js';

export type Inputs = Record<string, string | number>;

export function InputsForm({ form, values, onChange, fieldError }: { form: FormField[]; values: Inputs; onChange: (v: Inputs) => void; fieldError?: (key: string) => string | undefined }) {
  return (
    <>
      {form.map((f) => (
        <Field key={f.key} label={<>{f.label}{f.required ? null : <span className="required-mark"> (optional)</span>}</>} error={fieldError?.(f.key)}>
          {(p) =>
            f.type === 'select' ? (
              <select {...p} value={String(values[f.key] ?? '')} required={f.required} onChange={(e) => onChange({ ...values, [f.key]: e.target.value })}>
                <option value="">Choose…</option>
                {(f.options ?? []).map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : (
              <input
                {...p}
                type={f.type === 'number' ? 'number' : 'text'}
                required={f.required}
                value={String(values[f.key] ?? '')}
                onChange={(e) => onChange({ ...values, [f.key]: f.type === 'number' && e.target.value !== '' ? Number(e.target.value) : e.target.value })}
              />
            )
          }
        </Field>
      ))}
    </>
  );
}

/** Only the values given (empty text left out), as the API takes them. */
export function filledInputs(values: Inputs): Record<string, string | number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
}
