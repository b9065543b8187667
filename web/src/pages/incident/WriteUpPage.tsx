// The incident's post-incident write-up: generated from the admins' template, edited here in Markdown with a live
// preview beside it (rendered by the same markdown-it setup the server uses, raw HTML off), saved over the version
// it was loaded at. When someone else saved in between, the save is refused and says who; the text typed here stays
// until the person chooses to load the newer version. Exports download Markdown or a standalone HTML document.
import { useEffect, useMemo, useState } from 'react';
import { renderMarkdown } from '../../../../src/write-ups/markdown.js';
import { ApiError, api } from '../../api.js';
import { DateTime, ErrorMessage, Loading } from '../../components/ui.js';
import { useLoad, useSubmit, useTitle } from '../../hooks.js';
import { useLive } from '../../live.js';
import { Link } from '../../router.js';
import { canRespond, useSession } from '../../session.js';
import { writeUpApi, type WriteUp } from './writeUpApi.js';

export function WriteUpPage({ idOrRef }: { idOrRef: string }) {
  const session = useSession();
  const editable = canRespond(session.user.role);
  const incident = useLoad(() => api.incident(idOrRef), [idOrRef]);
  const inc = incident.data;
  useTitle(inc ? `Write-up · ${inc.reference} ${inc.name}` : `Write-up · ${idOrRef}`);
  const writeUp = useLoad(async () => {
    if (!inc) return undefined;
    try {
      return await writeUpApi.get(inc.id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null; // not generated yet
      throw e;
    }
  }, [inc?.id]);
  useLive(['incident'], inc?.id ?? null, writeUp.refresh);

  if (!inc) {
    if (incident.loading) return <Loading label={`Loading ${idOrRef}…`} />;
    return (
      <>
        <Breadcrumb reference={idOrRef} />
        <h1>Could not load {idOrRef}</h1>
        <ErrorMessage error={incident.error} />
      </>
    );
  }
  return (
    <>
      <Breadcrumb reference={inc.reference} />
      <h1>
        Write-up: {inc.reference} {inc.name}
      </h1>
      {writeUp.data === undefined ? (
        writeUp.error ? <ErrorMessage error={writeUp.error} title="Could not load the write-up." /> : <Loading label="Loading the write-up…" />
      ) : writeUp.data === null ? (
        <NotGenerated incidentId={inc.id} editable={editable} onGenerated={(w) => writeUp.setData(w)} />
      ) : (
        <Editor key={inc.id} incidentId={inc.id} server={writeUp.data} editable={editable} onSaved={(w) => writeUp.setData(w)} />
      )}
    </>
  );
}

function NotGenerated({ incidentId, editable, onGenerated }: { incidentId: string; editable: boolean; onGenerated: (w: WriteUp) => void }) {
  const { busy, error, run } = useSubmit();
  return (
    <section className="card">
      <p>No write-up yet. It starts from the write-up template, filled in with what happened: people and roles, timestamps and durations, key moments, updates, PagerDuty activity and follow-ups.</p>
      {editable ? (
        <button type="button" className="button-primary" disabled={busy} onClick={() => void run(async () => onGenerated(await writeUpApi.generate(incidentId)))}>
          {busy ? 'Generating…' : 'Generate from the template'}
        </button>
      ) : (
        <p className="muted">A responder or admin can generate it.</p>
      )}
      <ErrorMessage error={error} title="Not generated." />
    </section>
  );
}

function Editor({ incidentId, server, editable, onSaved }: { incidentId: string; server: WriteUp; editable: boolean; onSaved: (w: WriteUp) => void }) {
  // `base` is the version the text was loaded from; a save goes over it.
  const [base, setBase] = useState(server);
  const [text, setText] = useState(server.markdown);
  const [notice, setNotice] = useState<string | null>(null);
  const save = useSubmit();
  const regen = useSubmit();
  const dirty = text !== base.markdown;
  const preview = useMemo(() => renderMarkdown(text), [text]);

  // A newer version from elsewhere (live feed): take it when nothing here is unsaved, else say so and keep the text.
  useEffect(() => {
    if (server.version === base.version) return;
    if (!dirty) {
      setBase(server);
      setText(server.markdown);
      setNotice(null);
    } else if (server.version > base.version) {
      setNotice(`${server.updated_by} saved a newer version (version ${server.version}). Your edits are still here; load the newer version before saving, or copy your text first.`);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [server.version]);

  // Unsaved edits are not lost to a closed tab without a warning.
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const onSave = save.onSubmit(async () => {
    try {
      const saved = await writeUpApi.save(incidentId, { markdown: text, version: base.version });
      setBase(saved);
      setNotice(null);
      onSaved(saved);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'stale_write_up') setNotice(null);
      throw e;
    }
  });
  const loadLatest = async () => {
    const latest = await writeUpApi.get(incidentId);
    setBase(latest);
    setText(latest.markdown);
    setNotice(null);
    save.setError(null);
    onSaved(latest);
  };
  const regenerate = () =>
    void regen.run(async () => {
      if (!window.confirm('Replace the write-up with a new one from the template? Edits in it will be lost.')) return;
      const w = await writeUpApi.generate(incidentId, true);
      setBase(w);
      setText(w.markdown);
      setNotice(null);
      onSaved(w);
    });
  const stale = save.error instanceof ApiError && save.error.code === 'stale_write_up';

  return (
    <form className="write-up" onSubmit={onSave}>
      <div className="write-up-bar">
        <p className="small muted" data-testid="write-up-status">
          Version {base.version}
          {base.edited ? ', last saved by ' : ', generated by '}
          {base.edited ? base.updated_by : base.generated_by} <DateTime value={base.edited ? base.updated_at : base.generated_at} />
          {dirty ? <strong className="write-up-dirty"> · Unsaved changes</strong> : null}
        </p>
        <div className="form-actions">
          {editable ? (
            <button type="submit" className="button-primary" disabled={save.busy || !dirty}>
              {save.busy ? 'Saving…' : 'Save'}
            </button>
          ) : null}
          <a className="button" href={writeUpApi.exportUrl(incidentId, 'md')} download data-testid="export-md">
            Export Markdown
          </a>
          <a className="button" href={writeUpApi.exportUrl(incidentId, 'html')} download data-testid="export-html">
            Export HTML
          </a>
          {editable ? (
            <button type="button" className="button-quiet" onClick={regenerate} disabled={regen.busy}>
              Generate again
            </button>
          ) : null}
        </div>
      </div>
      {notice ? (
        <div className="notice notice-warn" role="status" data-testid="write-up-newer">
          {notice}{' '}
          <button type="button" className="button-small" onClick={() => void loadLatest()}>
            Load the newer version
          </button>
        </div>
      ) : null}
      {stale ? (
        <div className="notice notice-error" role="alert" data-testid="write-up-stale">
          <strong>Not saved. </strong>
          {(save.error as ApiError).message}{' '}
          <button type="button" className="button-small" onClick={() => void loadLatest()}>
            Load the newer version (discard mine)
          </button>
        </div>
      ) : (
        <ErrorMessage error={save.error} title="Not saved." />
      )}
      <ErrorMessage error={regen.error} title="Not generated." />
      <div className="write-up-panes">
        <div className="write-up-pane">
          <label htmlFor="write-up-markdown">Markdown</label>
          <textarea
            id="write-up-markdown"
            className="mono write-up-text"
            spellCheck
            readOnly={!editable}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </div>
        <div className="write-up-pane">
          <span className="write-up-pane-label" id="write-up-preview-label">
            Preview
          </span>
          {/* markdown-it with raw HTML off: people's text cannot become HTML here. */}
          <div className="markdown-body write-up-preview" aria-labelledby="write-up-preview-label" data-testid="write-up-preview" dangerouslySetInnerHTML={{ __html: preview }} />
        </div>
      </div>
    </form>
  );
}

function Breadcrumb({ reference }: { reference: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/">Incidents</Link> <span aria-hidden="true">/</span> <Link to={`/incidents/${encodeURIComponent(reference)}`}>{reference}</Link> <span aria-hidden="true">/</span>{' '}
      <span aria-current="page">Write-up</span>
    </nav>
  );
}
