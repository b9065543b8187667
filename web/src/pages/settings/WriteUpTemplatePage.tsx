// Settings → Write-up template (admins change it; everyone can read it). Markdown with {{variables}}: the preview
// renders the text being edited (saved or not) for a chosen incident, a moment after the last key, through the
// server, so a mistake shows at once with its line and column, or the unknown variables it names. Saving checks
// the same way; a refused template leaves the saved one as it was.
import { useEffect, useRef, useState } from 'react';
import { ApiError, call } from '../../api.js';
import { SettingsPage } from '../../components/settings.js';
import { ErrorMessage, Loading } from '../../components/ui.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { isAdmin, useSession } from '../../session.js';
import { writeUpApi, type TemplatePreview, type WriteUpTemplate } from '../incident/writeUpApi.js';

export function WriteUpTemplatePage() {
  const session = useSession();
  const admin = isAdmin(session.user.role);
  const template = useLoad(() => writeUpApi.template(), []);
  useLive(['settings'], null, template.refresh);

  return (
    <SettingsPage
      title="Write-up template"
      lead="The post-incident write-up starts from this Markdown. {{variables}} are filled in from the incident; {{#list}}…{{/list}} repeats for each item and {{^list}}…{{/list}} shows when there is none."
    >
      {template.data ? <TemplateEditor saved={template.data} admin={admin} onSaved={(t) => template.setData(t)} /> : template.error ? <ErrorMessage error={template.error} /> : <Loading label="Loading the template…" />}
    </SettingsPage>
  );
}

function TemplateEditor({ saved, admin, onSaved }: { saved: WriteUpTemplate; admin: boolean; onSaved: (t: WriteUpTemplate) => void }) {
  const [text, setText] = useState(saved.markdown);
  const [incidentId, setIncidentId] = useState('');
  const [preview, setPreview] = useState<{ source: string; result: TemplatePreview | null; error: unknown } | null>(null);
  const incidents = useLoad(() => call('get', '/api/v1/incidents', { query: { limit: 50 } }).then((r) => r.incidents), []);
  const save = useSubmit();
  const reset = useSubmit();
  const [savedNote, setSavedNote] = useState<string | null>(null);

  useEffect(() => {
    if (!incidentId && incidents.data?.[0]) setIncidentId(incidents.data[0].id);
  }, [incidents.data, incidentId]);

  // Saved elsewhere (another admin, the API): take it unless there are unsaved edits here.
  const lastSaved = useRef(saved.markdown);
  useEffect(() => {
    if (text === lastSaved.current) setText(saved.markdown);
    lastSaved.current = saved.markdown;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [saved.markdown]);

  // Preview (and so check) a moment after the last key. Only admins may preview: the page is theirs to change.
  useEffect(() => {
    if (!admin || !incidentId) return;
    let stale = false;
    const t = setTimeout(() => {
      writeUpApi.previewTemplate(text, incidentId).then(
        (result) => !stale && setPreview({ source: text, result, error: null }),
        (error: unknown) => !stale && setPreview({ source: text, result: null, error }),
      );
    }, 400);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [text, incidentId, admin]);

  const dirty = text !== saved.markdown;
  const onSave = save.onSubmit(async () => {
    const t = await writeUpApi.saveTemplate(text);
    setSavedNote('Saved. New write-ups start from this template.');
    onSaved(t);
  });
  const onReset = () =>
    void reset.run(async () => {
      if (!window.confirm('Go back to the default template? The saved one will be replaced.')) return;
      const t = await writeUpApi.resetTemplate();
      setText(t.markdown);
      setSavedNote('Back to the default template.');
      onSaved(t);
    });
  const current = preview?.source === text ? preview : null;
  const checkError = current?.error instanceof ApiError && current.error.code === 'invalid_template' ? current.error : null;

  return (
    <>
      <p className="small muted" data-testid="template-state">
        {saved.is_default ? 'This is the default template.' : `Saved by ${saved.updated_by ?? 'someone'}.`} {admin ? '' : 'Only admins can change it.'}
      </p>
      <form className="form" onSubmit={onSave}>
        <div className="write-up-panes">
          <div className="write-up-pane">
            <label htmlFor="template-markdown">Template</label>
            <textarea id="template-markdown" className="mono write-up-text" spellCheck={false} readOnly={!admin} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={checkError ? true : undefined} aria-describedby="template-check" />
          </div>
          <div className="write-up-pane">
            {admin ? (
              <>
                <label htmlFor="template-incident">Preview with</label>
                <select id="template-incident" value={incidentId} onChange={(e) => setIncidentId(e.target.value)}>
                  {(incidents.data ?? []).map((i) => (
                    <option key={i.id} value={i.id}>
                      {i.reference} · {i.name}
                    </option>
                  ))}
                </select>
                <div id="template-check" aria-live="polite">
                  {!incidentId ? (
                    <p className="muted small">Declare an incident to preview the template with it.</p>
                  ) : !current ? (
                    <p className="muted small">Rendering…</p>
                  ) : checkError ? (
                    <TemplateErrorView source={text} error={checkError} />
                  ) : current.error ? (
                    <ErrorMessage error={current.error} title="Could not preview." />
                  ) : null}
                </div>
                {current?.result ? <div className="markdown-body write-up-preview" data-testid="template-preview" dangerouslySetInnerHTML={{ __html: current.result.html }} /> : null}
              </>
            ) : null}
          </div>
        </div>
        {admin ? (
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={save.busy || !dirty}>
              {save.busy ? 'Saving…' : 'Save template'}
            </button>
            {!saved.is_default ? (
              <button type="button" className="button-quiet" onClick={onReset} disabled={reset.busy}>
                Back to the default
              </button>
            ) : null}
            {savedNote && !dirty ? <span className="small" role="status">{savedNote}</span> : null}
          </div>
        ) : null}
        {save.error instanceof ApiError && save.error.code === 'invalid_template' ? <TemplateErrorView source={text} error={save.error} title="Not saved." /> : <ErrorMessage error={save.error} title="Not saved." />}
        <ErrorMessage error={reset.error} title="Not reset." />
      </form>
      <h2>Variables</h2>
      <ul className="small template-variables">
        {saved.variables.map((v) => (
          <li key={v.name}>
            <code>{v.list ? `{{#${v.name}}}…{{/${v.name}}}` : `{{${v.name}}}`}</code>
            {v.inside ? <span className="muted"> inside {`{{#${v.inside}}}`}</span> : null} <span className="muted">{v.description}</span>
          </li>
        ))}
      </ul>
      <p className="small muted">Inside a list’s section, its items’ fields are used by their own names, e.g. {'{{#follow_ups}}{{title}}{{/follow_ups}}'}.</p>
    </>
  );
}

function TemplateErrorView({ source, error, title }: { source: string; error: ApiError; title?: string }) {
  const d = (error.details ?? {}) as { line?: number; column?: number };
  const line = d.line ? (source.split('\n')[d.line - 1] ?? '') : null;
  return (
    <div className="notice notice-error" role="alert" data-testid="template-error">
      {title ? <strong>{title} </strong> : null}
      {error.message}
      {line !== null && d.column ? (
        <pre className="small" aria-label={`At line ${d.line}, column ${d.column}`}>
          {line}
          {'\n'}
          {' '.repeat(Math.max(0, d.column - 1))}^
        </pre>
      ) : null}
    </div>
  );
}
