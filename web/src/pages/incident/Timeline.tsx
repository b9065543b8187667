// The incident's timeline, newest last, and the form that adds a note to it.
import { useState, type FormEvent } from 'react';
import { api } from '../../api.js';
import { useSubmit } from '../../hooks.js';
import { DateTime, Empty, ErrorMessage, Field, Loading, titleCase } from '../../components/ui.js';
import type { Actor, TimelineItem } from '../../types.js';

export function actorName(actor: Actor): string {
  if (actor.user) return actor.user.name;
  if (actor.ref) return actor.ref;
  return titleCase(actor.kind);
}

export function Timeline({ items, loading, error }: { items: TimelineItem[] | undefined; loading: boolean; error: unknown }) {
  if (error) return <ErrorMessage error={error} title="Could not load the timeline." />;
  if (!items) return loading ? <Loading label="Loading timeline…" /> : null;
  if (items.length === 0) return <Empty title="Nothing on the timeline yet." />;
  return (
    <ol className="timeline" aria-label="Timeline" aria-busy={loading}>
      {items.map((item) => (
        <li key={item.id} className={`timeline-item timeline-${item.kind.replace(/[^a-z0-9_-]/gi, '')}`}>
          <span className="timeline-dot" aria-hidden="true" />
          <div className="timeline-meta">
            <DateTime value={item.occurred_at} />
            <span className="timeline-actor">{actorName(item.actor)}</span>
          </div>
          <p className={`timeline-text${item.kind === 'note' ? ' prewrap' : ''}`}>{item.text}</p>
        </li>
      ))}
    </ol>
  );
}

export function NoteForm({ incidentId, onAdded }: { incidentId: string; onAdded: () => void }) {
  const [text, setText] = useState('');
  const { busy, error, field, run } = useSubmit();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    void run(async () => {
      await api.addNote(incidentId, text.trim());
      setText('');
      onAdded();
    });
  };
  return (
    <form className="form note-form" onSubmit={submit}>
      <Field label="Add a note to the timeline" error={field('text')}>
        {(p) => <textarea {...p} rows={2} value={text} onChange={(e) => setText(e.target.value)} placeholder="What did you find or do?" />}
      </Field>
      <ErrorMessage error={error} title="The note was not added." />
      <div className="form-actions">
        <button type="submit" disabled={busy || !text.trim()}>
          {busy ? 'Adding…' : 'Add note'}
        </button>
      </div>
    </form>
  );
}
