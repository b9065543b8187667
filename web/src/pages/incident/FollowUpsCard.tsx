// The incident page's "Follow-ups" card: the work this incident leaves behind, each with its owner, priority and
// status (changeable in place by responders), its link and, when made from a Slack message, a link back to it;
// a form to add one. Changes made anywhere (Slack, the API, another tab) show through the live feed.
import { useId, useState } from 'react';
import { api } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { Empty, ErrorMessage, Field, Loading } from '../../components/ui.js';
import { FOLLOW_UP_PRIORITIES, FOLLOW_UP_STATUSES, followUpsApi, priorityLabel, statusLabel, type FollowUp, type FollowUpPatch } from '../../components/follow-ups/api.js';
import type { User } from '../../types.js';

export function FollowUpsCard({ incidentId, editable, takesNew, onChanged }: { incidentId: string; editable: boolean; takesNew: boolean; onChanged?: () => void }) {
  const list = useLoad(() => followUpsApi.forIncident(incidentId), [incidentId]);
  const users = useLoad(() => (editable ? api.users() : Promise.resolve([] as User[])), [editable]);
  useLive(['incident'], incidentId, list.refresh);
  const [adding, setAdding] = useState(false);
  const items = list.data ?? [];
  const open = items.filter((f) => f.status === 'open').length;

  const changed = (f: FollowUp) => {
    list.setData((prev) => (prev ?? []).map((x) => (x.id === f.id ? f : x)));
    onChanged?.();
  };

  return (
    <section className="card" aria-labelledby="follow-ups-heading">
      <div className="card-head">
        <h2 id="follow-ups-heading">Follow-ups{items.length ? ` (${open} open of ${items.length})` : ''}</h2>
        {editable && takesNew && !adding ? (
          <button type="button" className="button-small" onClick={() => setAdding(true)}>
            Add follow-up
          </button>
        ) : null}
      </div>
      {list.loading && !list.data ? (
        <Loading label="Loading follow-ups…" />
      ) : list.error ? (
        <ErrorMessage error={list.error} title="Could not load follow-ups." />
      ) : items.length === 0 && !adding ? (
        <Empty title="No follow-ups yet">
          <p>Work this incident leaves behind (a fix for the cause, an alert, a runbook) appears here, whether added on this page, with the API, or in Slack with <code>/incident follow-up</code> or the “Create follow-up” message shortcut.</p>
        </Empty>
      ) : (
        <ul className="follow-ups" aria-label="Follow-ups">
          {items.map((f) => (
            <FollowUpRow key={f.id} followUp={f} editable={editable} users={users.data ?? []} onChanged={changed} />
          ))}
        </ul>
      )}
      {adding ? (
        <AddFollowUp
          incidentId={incidentId}
          users={users.data ?? []}
          onCancel={() => setAdding(false)}
          onAdded={(f) => {
            list.setData((prev) => [...(prev ?? []).filter((x) => x.id !== f.id), f]);
            setAdding(false);
            onChanged?.();
          }}
        />
      ) : null}
    </section>
  );
}

function FollowUpRow({ followUp: f, editable, users, onChanged }: { followUp: FollowUp; editable: boolean; users: User[]; onChanged: (f: FollowUp) => void }) {
  const { busy, error, run } = useSubmit();
  const change = (patch: FollowUpPatch) => run(async () => onChanged(await followUpsApi.update(f.id, patch)));
  const ids = { status: useId(), owner: useId(), priority: useId() };
  return (
    <li className={`follow-up follow-up-${f.status}`} aria-label={f.title}>
      <div className="follow-up-title">
        <strong>{f.title}</strong>
        {f.link ? (
          <>
            {' '}
            <a href={f.link} target="_blank" rel="noreferrer noopener">
              Link
            </a>
          </>
        ) : null}
        {f.source === 'slack' && f.source_ref ? (
          <>
            {' '}
            <a href={f.source_ref} target="_blank" rel="noreferrer noopener" className="muted">
              From Slack
            </a>
          </>
        ) : null}
      </div>
      {f.description ? <p className="follow-up-description">{f.description}</p> : null}
      {editable ? (
        <div className="follow-up-controls">
          <label htmlFor={ids.status}>Status</label>
          <select id={ids.status} value={f.status} disabled={busy} onChange={(e) => void change({ status: e.target.value as FollowUp['status'] })}>
            {FOLLOW_UP_STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
          <label htmlFor={ids.owner}>Owner</label>
          <select id={ids.owner} value={f.owner?.id ?? ''} disabled={busy} onChange={(e) => void change({ owner_user_id: e.target.value || null })}>
            <option value="">Nobody</option>
            {f.owner && !users.some((u) => u.id === f.owner!.id) ? <option value={f.owner.id}>{f.owner.name}</option> : null}
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
          <label htmlFor={ids.priority}>Priority</label>
          <select id={ids.priority} value={f.priority} disabled={busy} onChange={(e) => void change({ priority: e.target.value as FollowUp['priority'] })}>
            {FOLLOW_UP_PRIORITIES.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <p className="muted">
          {statusLabel(f.status)} · {priorityLabel(f.priority)} priority · {f.owner ? `Owner: ${f.owner.name}` : 'No owner'}
        </p>
      )}
      <ErrorMessage error={error} />
    </li>
  );
}

function AddFollowUp({ incidentId, users, onAdded, onCancel }: { incidentId: string; users: User[]; onAdded: (f: FollowUp) => void; onCancel: () => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [owner, setOwner] = useState('');
  const [priority, setPriority] = useState<FollowUp['priority']>('medium');
  const [link, setLink] = useState('');
  const { busy, error, field, onSubmit } = useSubmit();
  const submit = onSubmit(async () => {
    onAdded(await followUpsApi.create(incidentId, { title, description: description || undefined, owner_user_id: owner || undefined, priority, link: link.trim() || undefined, status: 'open' }));
  });
  return (
    <form className="follow-up-form" aria-label="Add a follow-up" onSubmit={submit} noValidate>
      <Field label="Title" error={field('title')}>
        {(p) => <input {...p} value={title} maxLength={200} required onChange={(e) => setTitle(e.target.value)} placeholder="Alert when a disk passes 80%" />}
      </Field>
      <Field label="Description" error={field('description')}>
        {(p) => <textarea {...p} value={description} rows={3} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <Field label="Owner" error={field('owner_user_id')}>
        {(p) => (
          <select {...p} value={owner} onChange={(e) => setOwner(e.target.value)}>
            <option value="">Nobody yet</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Priority" error={field('priority')}>
        {(p) => (
          <select {...p} value={priority} onChange={(e) => setPriority(e.target.value as FollowUp['priority'])}>
            {FOLLOW_UP_PRIORITIES.map((x) => (
              <option key={x.value} value={x.value}>
                {x.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Link" hint="The ticket or document, an http:// or https:// address." error={field('link')}>
        {(p) => <input {...p} type="url" value={link} onChange={(e) => setLink(e.target.value)} placeholder="https://" />}
      </Field>
      <ErrorMessage error={error && !(field('title') || field('link') || field('owner_user_id') || field('description')) ? error : null} />
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? 'Adding…' : 'Add follow-up'}
        </button>
        <button type="button" className="button-quiet" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
