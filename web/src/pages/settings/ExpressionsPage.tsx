// Expressions: try the expression language (CEL over incidents and the catalog). The box is checked as you type
// (the type it gives, or the mistake with a caret under it and what exists there); Preview evaluates it against a
// chosen incident and shows the value (entries by name) and the catalog entries it went through.
import { useEffect, useState } from 'react';
import { ApiError, call } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { ErrorMessage } from '../../components/ui.js';
import { SettingsPage } from '../../components/settings.js';
import type { Ok } from '../../api/operations.js';

type Preview = Ok<'/api/v1/expressions/preview', 'post'>;
interface CheckError {
  message: string;
  position: { offset: number; line: number; column: number } | null;
  available: string[];
}

const EXAMPLE = 'incident.severity.rank >= severity("Critical").rank';

function toCheckError(e: unknown): CheckError {
  if (e instanceof ApiError && e.details && typeof e.details.message === 'string') {
    const d = e.details as { message: string; position?: CheckError['position']; available?: string[] };
    return { message: d.message, position: d.position ?? null, available: d.available ?? [] };
  }
  return { message: e instanceof Error ? e.message : String(e), position: null, available: [] };
}

export function ExpressionsPage() {
  const [source, setSource] = useState(EXAMPLE);
  const [checked, setChecked] = useState<{ source: string; type: string | null; error: CheckError | null } | null>(null);
  const [incidentId, setIncidentId] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const incidents = useLoad(() => call('get', '/api/v1/incidents', { query: { limit: 50 } }).then((r) => r.incidents), []);
  const reference = useLoad(() => call('get', '/api/v1/expressions/reference'), []);

  // Check as you type, a moment after the last key.
  useEffect(() => {
    let stale = false;
    const t = setTimeout(() => {
      call('post', '/api/v1/expressions/check', { body: { expression: source } })
        .then((r) => !stale && setChecked({ source, type: r.type, error: null }))
        .catch((e: unknown) => !stale && setChecked({ source, type: null, error: toCheckError(e) }));
    }, 250);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [source]);

  useEffect(() => {
    if (!incidentId && incidents.data?.[0]) setIncidentId(incidents.data[0].id);
  }, [incidents.data, incidentId]);

  const runPreview = async () => {
    setBusy(true);
    setPreviewError(null);
    setPreview(null);
    try {
      setPreview(await call('post', '/api/v1/expressions/preview', { body: { expression: source, incident_id: incidentId } }));
    } catch (e) {
      setPreviewError(e);
    } finally {
      setBusy(false);
    }
  };

  const err = checked?.source === source ? checked.error : null;
  return (
    <SettingsPage title="Expressions" lead="Conditions and values over an incident and the catalog: the language workflows are written in. Checked as you type; preview one against a real incident.">
      <div className="form">
        <label htmlFor="expression">Expression</label>
        <textarea
          id="expression"
          className="mono"
          rows={4}
          spellCheck={false}
          value={source}
          onChange={(e) => setSource(e.target.value)}
          aria-describedby="expression-check"
          aria-invalid={err ? true : undefined}
          style={{ fontFamily: 'ui-monospace, monospace', width: '100%' }}
        />
        <div id="expression-check" aria-live="polite" data-testid="expression-check">
          {checked?.source !== source ? (
            <p className="muted small">Checking…</p>
          ) : err ? (
            <CheckErrorView source={source} error={err} />
          ) : (
            <p className="small">
              Gives <code data-testid="expression-type">{checked.type}</code>
            </p>
          )}
        </div>
        <label htmlFor="incident">Incident</label>
        <select id="incident" value={incidentId} onChange={(e) => setIncidentId(e.target.value)}>
          {(incidents.data ?? []).map((i) => (
            <option key={i.id} value={i.id}>
              {i.reference} · {i.name}
            </option>
          ))}
        </select>
        <div className="form-actions">
          <button type="button" onClick={() => void runPreview()} disabled={busy || !incidentId || !!err}>
            {busy ? 'Evaluating…' : 'Preview'}
          </button>
        </div>
      </div>
      {previewError ? <ErrorMessage error={previewError} title="Could not evaluate." /> : null}
      {preview ? <PreviewView preview={preview} /> : null}
      <h2>Reference</h2>
      <p className="small">
        Variables: <code>incident</code> and <code>actor</code>. Catalog entries have <code>id</code>, <code>name</code>, <code>external_id</code>, <code>archived</code>,{' '}
        <code>url</code>, a field per attribute, and <code>referenced_by</code> (the entries pointing at them). Lists take <code>exists</code>, <code>all</code>,{' '}
        <code>filter</code>, <code>map</code> and <code>size()</code>. Test optional values with <code>has(…)</code>. More in docs/expressions.md.
      </p>
      {reference.data ? (
        <details>
          <summary>Types and their fields</summary>
          {reference.data.types.map((t) => (
            <div key={t.name}>
              <h3 className="small">
                <code>{t.name}</code>
                {t.catalog_type ? <span className="muted"> (catalog type {t.catalog_type})</span> : null}
              </h3>
              <ul className="small">
                {t.members.map((m) => (
                  <li key={m.name}>
                    <code>{m.name}</code>: <code>{m.type}</code> <span className="muted">{m.doc}</span>
                  </li>
                ))}
              </ul>
            </div>
          ))}
          <h3 className="small">Functions</h3>
          <ul className="small">
            {reference.data.functions.map((f) => (
              <li key={f.signature}>
                <code>{f.signature}</code> <span className="muted">{f.doc}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </SettingsPage>
  );
}

function CheckErrorView({ source, error }: { source: string; error: CheckError }) {
  const pos = error.position;
  const line = pos ? (source.split('\n')[pos.line - 1] ?? '') : '';
  return (
    <div className="notice notice-error" role="alert" data-testid="expression-error">
      <p>{error.message}</p>
      {pos ? (
        <pre className="small" aria-label={`At line ${pos.line}, column ${pos.column}`}>
          {line}
          {'\n'}
          {' '.repeat(Math.max(0, pos.column - 1))}^
        </pre>
      ) : null}
      {error.available.length ? (
        <>
          <p className="small">Available here:</p>
          <ul className="small" data-testid="expression-available">
            {error.available.slice(0, 40).map((a) => (
              <li key={a}>
                <code>{a}</code>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

function ValueView({ value }: { value: unknown }) {
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">(empty list)</span>;
    return (
      <ul>
        {value.map((v, i) => (
          <li key={i}>
            <ValueView value={v} />
          </li>
        ))}
      </ul>
    );
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.name === 'string' && typeof o.id === 'string' && typeof o.type === 'string') {
      return (
        <span>
          {o.name} <span className="muted">({o.type})</span>
        </span>
      );
    }
    return <code>{JSON.stringify(value)}</code>;
  }
  return <code>{JSON.stringify(value)}</code>;
}

function PreviewView({ preview }: { preview: Preview }) {
  return (
    <section aria-label="Preview" data-testid="expression-preview">
      <h2>Value</h2>
      <p className="small muted">
        {preview.type} · evaluated in {preview.duration_ms} ms · {preview.context.entries} catalog entries loaded for this incident in {preview.context.load_ms} ms
      </p>
      <div data-testid="expression-value">
        <ValueView value={preview.value} />
      </div>
      <h2>Path</h2>
      {preview.visited.length === 0 ? (
        <p className="muted">No catalog entries were visited.</p>
      ) : (
        <ol className="small" data-testid="expression-visited">
          {preview.visited.map((v) => (
            <li key={v.id}>
              <strong>{v.name}</strong> <span className="muted">({v.type})</span> via <code>{v.via}</code>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
