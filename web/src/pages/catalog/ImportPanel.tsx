// Catalog as code in the web app: paste a YAML or JSON document, "Preview" runs a dry run and shows the plan
// (the type created / changed / unchanged; entries added, changed with their attributes, archived), "Apply"
// writes it. A document that changes nothing says so; a bad one shows the server's message (with its line).
import { useState } from 'react';
import { ApiError } from '../../api.js';
import { ErrorMessage, Field } from '../../components/ui.js';
import { useSubmit } from '../../hooks.js';
import { Link } from '../../router.js';
import { catalogEdit, type ApplyPlan } from './api.js';

export function ImportPanel({ onApplied, onClose }: { onApplied: () => void; onClose: () => void }) {
  const [text, setText] = useState('');
  const [plan, setPlan] = useState<ApplyPlan | null>(null);
  const [applied, setApplied] = useState<ApplyPlan | null>(null);
  const { busy, error, run } = useSubmit();
  const needsConfirm = !!plan && plan.type.values_dropped.length > 0;

  const preview = () =>
    run(async () => {
      setApplied(null);
      setPlan(null);
      setPlan(await catalogEdit.apply(text, true));
    });
  const apply = () =>
    run(async () => {
      const done = await catalogEdit.apply(text, false, needsConfirm);
      setApplied(done);
      setPlan(null);
      onApplied();
    });

  return (
    <section className="card" aria-labelledby="import-title">
      <h2 id="import-title">Import a catalog file</h2>
      <p className="muted small">
        A type with its entries, as YAML or JSON (the format of “Export YAML”; see docs/catalog-as-code.md). Entries are matched by external id; entries of the type missing from
        the file are archived. Preview first: nothing is written until you apply.
      </p>
      <Field label="Catalog file (YAML or JSON)">
        {(p) => (
          <textarea
            {...p}
            rows={14}
            className="mono"
            spellCheck={false}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setPlan(null);
            }}
          />
        )}
      </Field>
      {error ? <ErrorMessage error={error} title={error instanceof ApiError && error.status === 400 ? 'The file cannot be applied.' : 'Something went wrong.'} /> : null}
      {plan ? <PlanView plan={plan} /> : null}
      {applied ? (
        <div role="status">
          <p className="notice notice-ok">
            {applied.changed ? 'Applied.' : 'Nothing to change: the catalog already matches the file.'}{' '}
            <Link to={`/catalog/${encodeURIComponent(applied.type.type_name)}`}>Open {applied.type.name}</Link>
          </p>
          <PlanView plan={applied} />
        </div>
      ) : null}
      <div className="form-actions">
        <button type="button" className={plan ? '' : 'button-primary'} disabled={busy || !text.trim()} onClick={() => void preview()}>
          {busy && !plan ? 'Checking…' : 'Preview'}
        </button>
        {plan && plan.changed ? (
          <button type="button" className={needsConfirm ? 'button-danger' : 'button-primary'} disabled={busy} onClick={() => void apply()}>
            {busy ? 'Applying…' : needsConfirm ? 'Apply and drop those values' : 'Apply'}
          </button>
        ) : null}
        <button type="button" className="button-quiet" onClick={onClose}>
          Close
        </button>
      </div>
    </section>
  );
}

export function PlanView({ plan }: { plan: ApplyPlan }) {
  const e = plan.entries;
  const t = plan.type;
  const will = plan.dry_run;
  return (
    <div className="plan" data-plan>
      <h3>
        {t.name} <span className="muted small">({t.type_name})</span>: {t.action === 'create' ? (will ? 'will be created' : 'created') : t.action === 'change' ? (will ? 'will change' : 'changed') : 'type unchanged'}
      </h3>
      {t.changes.length > 0 ? (
        <ul className="small">
          {t.changes.map((c, i) => (
            <li key={i}>{c.message}</li>
          ))}
        </ul>
      ) : null}
      {t.values_dropped.length > 0 && will ? <p className="notice notice-warn">Applying drops the values entries hold for: {t.values_dropped.map((v) => `${v.name} (${v.entries})`).join(', ')}.</p> : null}
      <p data-plan-counts>
        Entries: <strong>{e.add.length}</strong> to add, <strong>{e.change.length}</strong> to change, <strong>{e.archive.length}</strong> to archive, <strong>{e.unchanged}</strong> unchanged
      </p>
      {e.add.length + e.change.length + e.archive.length > 0 ? (
        <ul className="plan-entries">
          {e.add.map((x) => (
            <li key={`a-${x.external_id}`} data-plan-add={x.external_id}>
              <strong>Add</strong> {x.name} <span className="muted small mono">{x.external_id}</span>
            </li>
          ))}
          {e.change.map((x) => (
            <li key={`c-${x.external_id}`} data-plan-change={x.external_id}>
              <strong>Change</strong> {x.name}
              {x.restore ? <span className="muted"> (restored from the archive)</span> : null}
              <ul className="small">
                {x.changes.map((c) => (
                  <li key={c.field}>
                    {c.label}: {c.from} → {c.to}
                  </li>
                ))}
              </ul>
            </li>
          ))}
          {e.archive.map((x) => (
            <li key={`r-${x.external_id}`} data-plan-archive={x.external_id}>
              <strong>Archive</strong> {x.name} <span className="muted small">(not in the file)</span>
            </li>
          ))}
        </ul>
      ) : null}
      {will && !plan.changed ? <p className="muted">Nothing to change: the catalog already matches the file.</p> : null}
    </div>
  );
}
