// One workflow: the editor (about, trigger, conditions, controls, steps; checked as you type with the save-time
// checker; save as draft, activate — asking whether open incidents count too for "declared" triggers — disable,
// delete) with the preview beside it, and the History and Audit tabs (`?tab=` in the URL). "new" makes one.
import { useEffect, useMemo, useState } from 'react';
import { api, call } from '../../api.js';
import { useLoad, useSubmit, useTitle } from '../../hooks.js';
import { Link, navigate, useLocation } from '../../router.js';
import { isAdmin, useSession } from '../../session.js';
import { CopyField, ErrorMessage, Field, Loading } from '../../components/ui.js';
import { fieldsApi } from '../../components/custom-fields/api.js';
import { workflowsApi, type Workflow, type WorkflowDefinition } from '../../components/workflows/api.js';
import { CheckProvider, CheckSummary, ExpressionField, problemFor, useDefinitionCheck } from '../../components/workflows/check.js';
import { ConditionBuilder } from '../../components/workflows/ConditionBuilder.js';
import { StepsEditor, newStep } from '../../components/workflows/StepsEditor.js';
import { TriggerPicker } from '../../components/workflows/TriggerPicker.js';
import { buildSubjects } from '../../components/workflows/subjects.js';
import { StateBadge } from '../../components/workflows/ui.js';
import { triggerWords } from '../../components/workflows/words.js';
import { PreviewPanel } from './PreviewPanel.js';
import { HistoryTab } from './HistoryTab.js';
import { AuditTab } from './AuditTab.js';

const BLANK: WorkflowDefinition = { key: '', name: '', trigger: { type: 'incident.declared' }, steps: [newStep('escalate', [])] };

/** The definition alone (what the API takes), from a stored workflow. */
export function definitionOf(w: Workflow): WorkflowDefinition {
  const { id: _id, state: _state, version: _v, created_at: _c, updated_at: _u, created_by: _b, last_run_at: _l, has_secret: _s, ...def } = w as Workflow & Record<string, unknown>;
  return def as WorkflowDefinition;
}

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);

export function WorkflowEditorPage({ idOrKey }: { idOrKey: string | null }) {
  const isNew = idOrKey === null;
  const loaded = useLoad(async () => (idOrKey ? workflowsApi.get(idOrKey) : null), [idOrKey]);
  const location = useLocation();
  const tab = location.search.get('tab') ?? 'editor';
  const w = loaded.data ?? null;
  useTitle(w ? w.name : isNew ? 'New workflow' : 'Workflow');

  if (!isNew && !w) {
    return (
      <>
        <Breadcrumb name={idOrKey ?? ''} />
        {loaded.loading ? <Loading label="Loading the workflow…" /> : <ErrorMessage error={loaded.error} title="Could not load the workflow." />}
      </>
    );
  }
  const base = w ? `/workflows/${encodeURIComponent(w.id)}` : '/workflows/new';
  return (
    <>
      <Breadcrumb name={w?.name ?? 'New workflow'} />
      <div className="page-head">
        <div>
          <h1>{w?.name ?? 'New workflow'}</h1>
          {w ? (
            <p className="muted small">
              <StateBadge state={w.state} /> {triggerWords(w.trigger)} · version {w.version}
              {w.test_mode ? ' · test incidents only' : ''}
            </p>
          ) : null}
        </div>
      </div>
      {w ? (
        <nav className="timeline-filter" aria-label="Workflow sections">
          {[
            ['editor', 'Editor'],
            ['history', 'History'],
            ['audit', 'Audit'],
          ].map(([t, label]) => (
            <Link key={t} to={t === 'editor' ? base : `${base}?tab=${t}`} aria-current={tab === t ? 'true' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
      ) : null}
      {tab === 'history' && w ? <HistoryTab workflowId={w.id} /> : tab === 'audit' && w ? <AuditTab workflowId={w.id} /> : <Editor key={w?.id ?? 'new'} workflow={w} onSaved={(next) => loaded.setData(next)} />}
    </>
  );
}

function Breadcrumb({ name }: { name: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/workflows">Workflows</Link> <span aria-hidden="true">/</span> <span aria-current="page">{name}</span>
    </nav>
  );
}

function useEditorData() {
  const fields = useLoad(() => fieldsApi.list(), []);
  const reference = useLoad(() => call('get', '/api/v1/expressions/reference'), []);
  const severities = useLoad(() => api.severities(), []);
  const statuses = useLoad(() => api.statuses(), []);
  const users = useLoad(() => api.users().catch(() => []), []);
  return useMemo(() => {
    const fieldList = fields.data ?? [];
    return {
      ready: !!fields.data && !!severities.data,
      error: fields.error ?? severities.error,
      fields: fieldList.map((f) => ({ key: f.key, name: f.name })),
      conditions: {
        subjects: buildSubjects(fieldList, reference.data),
        severities: [...(severities.data ?? [])].sort((a, b) => b.rank - a.rank).map((s) => s.name),
        statuses: (statuses.data ?? []).map((s) => s.name),
      },
      steps: {
        severities: [...(severities.data ?? [])].sort((a, b) => b.rank - a.rank).map((s) => s.name),
        users: (users.data ?? []).map((u) => ({ id: u.id, name: u.name, email: u.email })),
        fields: fieldList.map((f) => ({ key: f.key, name: f.name })),
      },
    };
  }, [fields.data, fields.error, reference.data, severities.data, severities.error, statuses.data, users.data]);
}

function Editor({ workflow, onSaved }: { workflow: Workflow | null; onSaved: (w: Workflow) => void }) {
  const admin = isAdmin(useSession().user.role);
  const [def, setDef] = useState<WorkflowDefinition>(() => (workflow ? definitionOf(workflow) : BLANK));
  const [keyTouched, setKeyTouched] = useState(!!workflow);
  const [savedJson, setSavedJson] = useState(() => (workflow ? JSON.stringify(definitionOf(workflow)) : ''));
  const [secret, setSecret] = useState<string | null>(null);
  const [asking, setAsking] = useState<'activate' | 'delete' | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = useSubmit();
  const data = useEditorData();
  const check = useDefinitionCheck(def);
  const dirty = JSON.stringify(def) !== savedJson;
  useEffect(() => setDone(null), [def]);

  const set = <K extends keyof WorkflowDefinition>(k: K, v: WorkflowDefinition[K]) =>
    setDef((d) => {
      const next = { ...d, [k]: v };
      if (v === undefined) delete next[k];
      return next;
    });

  /** Saves what is in the editor (a new one as a draft); answers the stored workflow. */
  const save = async (): Promise<Workflow> => {
    const body = { ...def };
    delete body.state;
    delete body.apply_to_existing;
    const saved = workflow ? await workflowsApi.update(workflow.id, body) : await workflowsApi.create(body);
    if (saved.secret) setSecret(saved.secret);
    const { secret: _s, ...stored } = saved;
    setSavedJson(JSON.stringify(definitionOf(stored)));
    setDef(definitionOf(stored));
    onSaved(stored);
    if (!workflow) navigate(`/workflows/${encodeURIComponent(stored.id)}`, { replace: true });
    return stored;
  };
  const setState = (state: 'active' | 'disabled' | 'draft', applyToExisting?: boolean) =>
    void submit.run(async () => {
      const stored = dirty || !workflow ? await save() : workflow;
      const next = await workflowsApi.setState(stored.id, state, applyToExisting);
      onSaved(next);
      setAsking(null);
      setDone(state === 'active' ? (applyToExisting ? 'Active, also on the incidents open now.' : 'Active for new incidents.') : state === 'disabled' ? 'Disabled: it no longer runs.' : 'Back to draft.');
    });
  const activate = () => {
    if (def.trigger.type === 'incident.declared') setAsking('activate');
    else setState('active');
  };

  if (!data.ready) return data.error ? <ErrorMessage error={data.error} title="Could not load what the editor needs." /> : <Loading label="Loading the editor…" />;

  return (
    <CheckProvider value={check}>
      {secret ? (
        <div className="notice notice-ok secret" role="status">
          <p>
            <strong>The signing secret for this workflow's HTTP requests.</strong> It is shown once: keep it where the receiving tool can check <code>X-Firebreak-Signature</code>.
          </p>
          <CopyField label="Signing secret" value={secret} />
          <button type="button" className="button-small" onClick={() => setSecret(null)}>
            I have kept it
          </button>
        </div>
      ) : null}
      <div className="wf-editor-grid">
        <form className="wf-editor" aria-label="Workflow" onSubmit={submit.onSubmit(save)}>
          <fieldset disabled={!admin} className="wf-fieldset">
            <section className="card" aria-labelledby="wf-about">
              <h2 id="wf-about">About</h2>
              <div className="form">
                <div className="form-row">
                  <Field label="Name" error={problemFor(check, 'name')?.message}>
                    {(p) => (
                      <input
                        {...p}
                        value={def.name}
                        onChange={(e) => {
                          const name = e.target.value;
                          setDef((d) => ({ ...d, name, ...(keyTouched ? {} : { key: slug(name) }) }));
                        }}
                      />
                    )}
                  </Field>
                  <Field label="Key" hint="Names it in files and the API; lower-case letters, digits, _ and -." error={problemFor(check, 'key')?.message ?? submit.field('key')}>
                    {(p) => (
                      <input
                        {...p}
                        className="mono"
                        value={def.key}
                        onChange={(e) => {
                          setKeyTouched(true);
                          set('key', e.target.value);
                        }}
                      />
                    )}
                  </Field>
                </div>
                <Field label="Description (optional)">
                  {(p) => <textarea {...p} rows={2} value={def.description ?? ''} onChange={(e) => set('description', e.target.value || undefined)} />}
                </Field>
              </div>
            </section>
            <section className="card" aria-labelledby="wf-trigger">
              <h2 id="wf-trigger">Trigger</h2>
              <TriggerPicker trigger={def.trigger} onChange={(t) => set('trigger', t)} fields={data.fields} />
            </section>
            <section className="card" aria-labelledby="wf-conditions">
              <h2 id="wf-conditions">Conditions</h2>
              <ConditionBuilder groups={def.conditions ?? []} onChange={(g) => set('conditions', g.length ? g : undefined)} data={data.conditions} />
            </section>
            <section className="card" aria-labelledby="wf-controls">
              <h2 id="wf-controls">Controls</h2>
              <div className="form">
                <div className="form-row">
                  <Field label="Delay before the steps (minutes)" hint="The conditions are checked again after it. At most 1440 (24 hours)." error={problemFor(check, 'delay_minutes')?.message}>
                    {(p) => (
                      <input
                        {...p}
                        type="number"
                        min={0}
                        max={1440}
                        value={def.delay_minutes ?? ''}
                        onChange={(e) => set('delay_minutes', e.target.value === '' ? undefined : Math.trunc(Number(e.target.value)))}
                      />
                    )}
                  </Field>
                  <Field label="Runs">
                    {(p) => (
                      <select
                        {...p}
                        value={def.dedupe?.mode ?? 'every_time'}
                        onChange={(e) => {
                          const mode = e.target.value;
                          set('dedupe', mode === 'once_per_incident' ? { mode } : mode === 'once_per_value' ? { mode, expression: 'incident.severity.name' } : undefined);
                        }}
                      >
                        <option value="every_time">Every time it matches</option>
                        <option value="once_per_incident">Once per incident</option>
                        <option value="once_per_value">Once per incident and value of an expression</option>
                      </select>
                    )}
                  </Field>
                </div>
                {def.dedupe?.mode === 'once_per_value' ? (
                  <ExpressionField label="Once per value of" path="dedupe.expression" value={def.dedupe.expression} onChange={(v) => set('dedupe', { mode: 'once_per_value', expression: v })} hint="E.g. incident.severity.name: once per severity reached." />
                ) : null}
                <ExpressionField
                  label="For each (optional)"
                  path="for_each"
                  value={def.for_each ?? ''}
                  onChange={(v) => set('for_each', v.trim() ? v : undefined)}
                  hint="A list (at most 25 items): the steps run once per item, and their expressions read it as item."
                  placeholder="incident.custom_fields.affected_services"
                />
                <label className="choice">
                  <input type="checkbox" checked={!!def.test_mode} onChange={(e) => set('test_mode', e.target.checked || undefined)} /> Test mode: run only on incidents marked as test
                </label>
              </div>
            </section>
            <section className="card" aria-labelledby="wf-steps">
              <h2 id="wf-steps">Steps</h2>
              <StepsEditor steps={def.steps} onChange={(s) => set('steps', s)} data={data.steps} />
            </section>
          </fieldset>
          <div className="card wf-actions">
            <CheckSummary state={check} />
            <ErrorMessage error={submit.error} title="Not saved." />
            {done ? (
              <p className="notice notice-ok" role="status">
                {done}
              </p>
            ) : null}
            {asking === 'activate' ? (
              <div className="notice" role="group" aria-label="Activate">
                <p>Apply to open incidents too? It runs for every incident declared from now on; it can also run once for each incident open now that matches.</p>
                <div className="form-actions">
                  <button type="button" className="button-primary" disabled={submit.busy} onClick={() => setState('active', false)}>
                    New incidents only
                  </button>
                  <button type="button" disabled={submit.busy} onClick={() => setState('active', true)}>
                    Open incidents too
                  </button>
                  <button type="button" className="button-quiet" onClick={() => setAsking(null)}>
                    Cancel
                  </button>
                </div>
              </div>
            ) : null}
            {asking === 'delete' && workflow ? (
              <div className="notice notice-warn" role="group" aria-label="Delete">
                <p>Delete {workflow.name}? Its runs stay in the history of their incidents.</p>
                <div className="form-actions">
                  <button type="button" className="button-danger" disabled={submit.busy} onClick={() => void submit.run(async () => { await workflowsApi.remove(workflow.id); navigate('/workflows'); })}>
                    Delete
                  </button>
                  <button type="button" className="button-quiet" onClick={() => setAsking(null)}>
                    Keep it
                  </button>
                </div>
              </div>
            ) : null}
            {admin ? (
              <div className="form-actions">
                <button type="submit" className={workflow?.state === 'active' ? 'button-primary' : undefined} disabled={submit.busy || (!dirty && !!workflow)}>
                  {!workflow ? 'Save as draft' : dirty ? 'Save' : 'Saved'}
                </button>
                {workflow?.state !== 'active' ? (
                  <button type="button" className="button-primary" disabled={submit.busy} onClick={activate}>
                    {dirty ? 'Save and activate' : 'Activate'}
                  </button>
                ) : (
                  <button type="button" disabled={submit.busy} onClick={() => setState('disabled')}>
                    Disable
                  </button>
                )}
                {workflow?.state === 'disabled' ? (
                  <button type="button" className="button-quiet" disabled={submit.busy} onClick={() => setState('draft')}>
                    Back to draft
                  </button>
                ) : null}
                {workflow?.has_secret ? (
                  <button type="button" className="button-quiet" disabled={submit.busy} onClick={() => void submit.run(async () => setSecret((await workflowsApi.rotateSecret(workflow.id)).secret))}>
                    New signing secret
                  </button>
                ) : null}
                {workflow ? (
                  <button type="button" className="button-quiet" disabled={submit.busy} onClick={() => setAsking('delete')}>
                    Delete…
                  </button>
                ) : null}
              </div>
            ) : (
              <p className="muted small">Only owners and admins can change workflows.</p>
            )}
          </div>
        </form>
        <div className="wf-side">
          <PreviewPanel definition={def} workflowId={workflow?.id ?? null} />
        </div>
      </div>
    </CheckProvider>
  );
}
