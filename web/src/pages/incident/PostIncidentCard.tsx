// The post-incident checklist of a closed incident: "Write-up written" and "Follow-ups created" tick themselves
// from what exists (the write-up edited and saved; at least one follow-up, or someone saying none are needed),
// "Review held" is ticked by a person. All three done: "Post-incident complete". The card follows the incident
// live, so a write-up saved or a follow-up created elsewhere shows here at once.
import { useState } from 'react';
import { ErrorMessage, Loading } from '../../components/ui.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { Link } from '../../router.js';
import type { Incident } from '../../types.js';
import { writeUpApi, type PostIncident, type PostIncidentItem } from './writeUpApi.js';

export function PostIncidentCard({ incident, editable }: { incident: Incident; editable: boolean }) {
  const state = useLoad(() => writeUpApi.checklist(incident.id), [incident.id, incident.status.id]);
  useLive(['incident', 'timeline'], incident.id, state.refresh);
  const c = state.data;
  const done = c ? c.items.filter((i) => i.done).length : 0;
  const writeUpLink = `/incidents/${encodeURIComponent(incident.reference)}/write-up`;

  return (
    <section className="card post-incident" aria-labelledby="post-incident-heading" data-testid="post-incident-card">
      <div className="card-head">
        <h2 id="post-incident-heading">Post-incident</h2>
        {c ? (
          c.complete ? (
            <span className="badge badge-closed" data-testid="post-incident-state">
              Post-incident complete
            </span>
          ) : (
            <span className="badge" data-testid="post-incident-state">
              {done} of {c.items.length} done
            </span>
          )
        ) : null}
      </div>
      {!c ? (
        state.error ? <ErrorMessage error={state.error} title="Could not load the checklist." /> : <Loading label="Loading the checklist…" />
      ) : (
        <>
          <ul className="checklist">
            {c.items.map((item) => (
              <ChecklistRow key={item.item} incidentId={incident.id} item={item} checklist={c} editable={editable} writeUpLink={writeUpLink} onChanged={(next) => state.setData(next)} />
            ))}
          </ul>
          <p className="small">
            <Link to={writeUpLink}>{c.write_up.exists ? 'Open the write-up' : 'Write the write-up'}</Link>
          </p>
        </>
      )}
    </section>
  );
}

function ChecklistRow({ incidentId, item, checklist, editable, writeUpLink, onChanged }: { incidentId: string; item: PostIncidentItem; checklist: PostIncident; editable: boolean; writeUpLink: string; onChanged: (c: PostIncident) => void }) {
  const [note, setNote] = useState('');
  const [asking, setAsking] = useState(false);
  const { busy, error, run } = useSubmit();
  const set = (doneNow: boolean) =>
    void run(async () => {
      onChanged(await writeUpApi.setItem(incidentId, item.item, { done: doneNow, note: doneNow && note.trim() ? note.trim() : null }));
      setAsking(false);
      setNote('');
    });
  // What a person may do here: tick/untick the review; say (or take back) "none needed" while there are no follow-ups.
  const personal = item.item === 'review' || (item.item === 'follow_ups' && checklist.follow_up_count === 0);
  const askLabel = item.item === 'review' ? 'Mark review held' : 'No follow-ups needed';
  const undoLabel = item.item === 'review' ? 'Untick' : 'Take back';

  return (
    <li className={`checklist-item${item.done ? ' checklist-done' : ''}`} data-testid={`post-incident-${item.item}`}>
      <span className="checklist-mark" aria-hidden="true">
        {item.done ? '✓' : '○'}
      </span>
      <div className="checklist-body">
        <strong>{item.label}</strong> <span className="visually-hidden">{item.done ? '(done)' : '(not done)'}</span>
        <div className="small muted">{item.detail}</div>
        {item.note ? <div className="small">“{item.note}”</div> : null}
        {item.item === 'write_up' && !item.done ? (
          <div className="small">
            <Link to={writeUpLink}>Go to the write-up</Link>
          </div>
        ) : null}
        {editable && personal ? (
          item.done ? (
            <button type="button" className="button-link" onClick={() => set(false)} disabled={busy}>
              {undoLabel}
            </button>
          ) : asking ? (
            <form
              className="checklist-form"
              onSubmit={(e) => {
                e.preventDefault();
                set(true);
              }}
            >
              <label className="small" htmlFor={`note-${item.item}`}>
                {item.item === 'review' ? 'Note (when, who attended), optional' : 'Why none are needed, optional'}
              </label>
              <input id={`note-${item.item}`} value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
              <div className="form-actions">
                <button type="submit" className="button-primary button-small" disabled={busy}>
                  {busy ? 'Saving…' : askLabel}
                </button>
                <button type="button" className="button-quiet button-small" onClick={() => setAsking(false)} disabled={busy}>
                  Cancel
                </button>
              </div>
            </form>
          ) : (
            <button type="button" className="button-small" onClick={() => setAsking(true)}>
              {askLabel}
            </button>
          )
        ) : null}
        <ErrorMessage error={error} title="Not saved." />
      </div>
    </li>
  );
}
