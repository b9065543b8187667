// The incident's timeline, newest last, and the form that adds a note to it.
// PagerDuty is noisy: every assignment and every notification (email, SMS, push, phone) of a PagerDuty incident is
// an item. Those fold under the state change they follow (triggered, acknowledged, escalated, resolved… of the same
// PagerDuty incident, by its id in the payload) as one line that expands on click. Actors read as people: a user's
// name, "Alan Weber via PagerDuty" for what a person did in PagerDuty, "PagerDuty" for what PagerDuty did itself.
// A filter (everything / updates and notes / PagerDuty activity) lives in the URL (`?timeline=updates`).
import { useState, type FormEvent, type ReactNode } from 'react';
import { api } from '../../api.js';
import { useSubmit } from '../../hooks.js';
import { DateTime, Empty, ErrorMessage, Field, Loading, titleCase } from '../../components/ui.js';
import { navigate, useLocation } from '../../router.js';
import type { Actor, TimelineItem } from '../../types.js';

/** Who did it, as a person reads it. Never an id. */
export function actorName(actor: Actor, payload: Record<string, unknown> = {}): string {
  if (actor.user) return actor.user.name;
  const ref = actor.ref ?? '';
  if (ref === 'pagerduty') {
    const people = pagerDutyPeople(payload);
    return people ? `${people} via PagerDuty` : 'PagerDuty';
  }
  if (ref.startsWith('api_key:')) return `${ref.slice('api_key:'.length)} (API key)`;
  if (ref === 'slack') return 'Slack';
  if (ref === 'first-start' || ref === 'cli') return 'Firebreak';
  // A workflow's run acts as `workflow:<workflowId>:<runId>`: its name when the item carries it, never the ids.
  if (ref.startsWith('workflow:')) {
    const name = payload.workflowName ?? payload.workflow_name;
    return typeof name === 'string' && name ? `Workflow “${name}”` : 'A workflow';
  }
  if (ref) return titleCase(ref.replace(/[-_:]/g, ' '));
  return titleCase(actor.kind);
}

/** The person PagerDuty says acted (a log entry's agent when it is a user, or who acknowledged), by name. */
function pagerDutyPeople(p: Record<string, unknown>): string | null {
  const agent = p.agent as { name?: unknown; type?: unknown } | null | undefined;
  if (agent && typeof agent.name === 'string' && (agent.type === undefined || String(agent.type).startsWith('user'))) return agent.name;
  if (Array.isArray(p.by) && p.by.length > 0) return p.by.map(String).join(', ');
  return null;
}

export type TimelineFilter = 'all' | 'updates' | 'pagerduty';
export const TIMELINE_FILTERS: { value: TimelineFilter; label: string }[] = [
  { value: 'all', label: 'Everything' },
  { value: 'updates', label: 'Updates and notes' },
  { value: 'pagerduty', label: 'PagerDuty activity' },
];

/** Assignments and notifications: shown folded under the PagerDuty state change they follow. */
export const PAGERDUTY_NOISE = new Set(['pagerduty.assigned', 'pagerduty.notified']);
const NOTE_KINDS = new Set(['note_added', 'pagerduty.note', 'slack.message_pinned']);

/** A change someone pinned is their note about the incident, so it stays under "updates and notes" too. */
const PINNED_CHANGE = 'pagerduty.change_pinned';
const isPagerDuty = (i: TimelineItem) => i.kind.startsWith('pagerduty.') && i.kind !== 'pagerduty.note' && i.kind !== PINNED_CHANGE;
export function matchesFilter(item: TimelineItem, filter: TimelineFilter): boolean {
  if (filter === 'all') return true;
  if (filter === 'pagerduty') return item.kind.startsWith('pagerduty.');
  return !isPagerDuty(item);
}

const pdIdOf = (i: TimelineItem) => (typeof i.payload.pagerdutyIncidentId === 'string' ? i.payload.pagerdutyIncidentId : null);

/** One line of the timeline: an item, with the PagerDuty noise folded under it (or, with no item, the noise alone). */
export interface TimelineEntry {
  key: string;
  item: TimelineItem | null;
  folded: TimelineItem[];
}

/**
 * Folds each assignment and notification under the latest state change of the same PagerDuty incident before it
 * (or, when that incident's first state change on this timeline comes later, under that one). Noise of a PagerDuty
 * incident with no state change here becomes one line of its own, where its first item was.
 */
export function groupTimeline(items: TimelineItem[]): TimelineEntry[] {
  const anchors = new Map<string, number[]>(); // PagerDuty incident id → indexes of its state changes
  items.forEach((it, i) => {
    const pd = pdIdOf(it);
    if (pd && isPagerDuty(it) && !PAGERDUTY_NOISE.has(it.kind)) anchors.set(pd, [...(anchors.get(pd) ?? []), i]);
  });
  const entries: TimelineEntry[] = [];
  const byIndex = new Map<number, TimelineEntry>();
  const alone = new Map<string, TimelineEntry>();
  const entryAt = (i: number) => {
    let e = byIndex.get(i);
    if (!e) {
      e = { key: items[i]!.id, item: items[i]!, folded: [] };
      byIndex.set(i, e);
    }
    return e;
  };
  items.forEach((it, i) => {
    const pd = pdIdOf(it);
    if (!(pd && PAGERDUTY_NOISE.has(it.kind))) {
      entries.push(entryAt(i));
      return;
    }
    const own = anchors.get(pd) ?? [];
    const before = own.filter((a) => a <= i).pop();
    const anchor = before ?? own[0];
    if (anchor !== undefined) {
      entryAt(anchor).folded.push(it);
      return;
    }
    let e = alone.get(pd);
    if (!e) {
      e = { key: `pd-activity:${pd}`, item: null, folded: [] };
      alone.set(pd, e);
      entries.push(e);
    }
    e.folded.push(it);
  });
  return entries;
}

/** "2 notifications and 1 assignment" (email, sms): what a folded line says it holds. */
export function foldedSummary(folded: TimelineItem[]): string {
  const notified = folded.filter((i) => i.kind === 'pagerduty.notified');
  const assigned = folded.length - notified.length;
  const channels = [...new Set(notified.map((i) => /\bby ([a-z_ ]+)$/i.exec(i.text)?.[1]?.replace(/_/g, ' ')).filter((c): c is string => !!c))];
  const parts = [];
  if (assigned) parts.push(`${assigned} assignment${assigned === 1 ? '' : 's'}`);
  if (notified.length) parts.push(`${notified.length} notification${notified.length === 1 ? '' : 's'}${channels.length ? ` (${channels.join(', ')})` : ''}`);
  return parts.join(' and ');
}

function peopleIn(folded: TimelineItem[]): string {
  const names = new Set<string>();
  for (const i of folded) {
    const user = i.payload.user as { name?: unknown } | null | undefined;
    if (user && typeof user.name === 'string') names.add(user.name);
    if (Array.isArray(i.payload.assignees)) for (const a of i.payload.assignees as { name?: unknown }[]) if (typeof a.name === 'string') names.add(a.name);
  }
  return [...names].join(', ');
}

export function Timeline({ items, loading, error }: { items: TimelineItem[] | undefined; loading: boolean; error: unknown }) {
  const location = useLocation();
  const raw = location.search.get('timeline');
  const filter: TimelineFilter = raw === 'updates' || raw === 'pagerduty' ? raw : 'all';
  if (error) return <ErrorMessage error={error} title="Could not load the timeline." />;
  if (!items) return loading ? <Loading label="Loading timeline…" /> : null;
  if (items.length === 0) return <Empty title="Nothing on the timeline yet." />;
  const entries = groupTimeline(items.filter((i) => matchesFilter(i, filter)));
  const hrefFor = (f: TimelineFilter) => {
    const params = new URLSearchParams(location.search);
    if (f === 'all') params.delete('timeline');
    else params.set('timeline', f);
    const qs = params.toString();
    return `${location.pathname}${qs ? `?${qs}` : ''}`;
  };
  return (
    <>
      <nav className="timeline-filter" aria-label="Show on the timeline">
        {TIMELINE_FILTERS.map((f) => (
          <a
            key={f.value}
            href={hrefFor(f.value)}
            aria-current={f.value === filter ? 'true' : undefined}
            onClick={(e) => {
              if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
              e.preventDefault();
              navigate(hrefFor(f.value), { replace: true });
            }}
          >
            {f.label}
          </a>
        ))}
      </nav>
      {entries.length === 0 ? (
        <Empty title={filter === 'pagerduty' ? 'No PagerDuty activity on this incident.' : 'Nothing of this kind on the timeline.'} />
      ) : (
        <ol className="timeline" aria-label="Timeline" aria-busy={loading}>
          {entries.map((e) => (
            <TimelineLine key={e.key} entry={e} />
          ))}
        </ol>
      )}
    </>
  );
}

function TimelineLine({ entry }: { entry: TimelineEntry }) {
  const [open, setOpen] = useState(false);
  const { item, folded } = entry;
  const first = item ?? folded[0]!;
  const kindClass = `timeline-${first.kind.replace(/[^a-z0-9_-]/gi, '')}${first.kind.startsWith('pagerduty.') ? ' timeline-pagerduty' : ''}${item && NOTE_KINDS.has(item.kind) ? ' timeline-kind-note' : ''}`;
  const listId = `folded-${entry.key.replace(/[^a-z0-9_-]/gi, '')}`;
  const toggle = folded.length ? (
    <button type="button" className="timeline-group-toggle" aria-expanded={open} aria-controls={listId} onClick={() => setOpen((o) => !o)}>
      {open ? 'Hide' : 'Show'} {foldedSummary(folded)}
    </button>
  ) : null;
  let body: ReactNode;
  if (!item) {
    const who = peopleIn(folded);
    body = (
      <p className="timeline-text">
        PagerDuty assigned and notified{who ? ` ${who}` : ''}
        {toggle}
      </p>
    );
  } else if (NOTE_KINDS.has(item.kind)) {
    body = <NoteBody item={item} />;
  } else if (item.kind === PINNED_CHANGE) {
    body = <PinnedChangeBody item={item} />;
  } else {
    body = (
      <p className="timeline-text">
        {item.text}
        {toggle}
      </p>
    );
  }
  return (
    <li className={`timeline-item ${kindClass}`} data-kind={first.kind}>
      <span className="timeline-dot" aria-hidden="true" />
      <div className="timeline-meta">
        <DateTime value={first.occurred_at} />
        <span className="timeline-actor">{item ? actorName(item.actor, item.payload) : 'PagerDuty'}</span>
      </div>
      {body}
      {folded.length && open ? (
        <ul className="timeline-group" id={listId} aria-label="PagerDuty assignments and notifications">
          {folded.map((f) => (
            <li key={f.id}>
              <span className="timeline-meta">
                <DateTime value={f.occurred_at} />
              </span>
              <span>{f.text}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

/** A pinned PagerDuty change: what it says, and its links (to the deploy, the build, the pull request). */
function PinnedChangeBody({ item }: { item: TimelineItem }) {
  const links = Array.isArray(item.payload.links) ? (item.payload.links as { href?: unknown; text?: unknown }[]).filter((l) => typeof l.href === 'string' && /^https?:\/\//i.test(l.href)) : [];
  return (
    <p className="timeline-text">
      {item.text}
      {links.map((l, i) => (
        <span key={i}>
          {' · '}
          <a href={l.href as string} target="_blank" rel="noreferrer">
            {typeof l.text === 'string' && l.text ? l.text : 'link'}
          </a>
        </span>
      ))}
    </p>
  );
}

/** A note as a quoted block with its author: Firebreak notes, PagerDuty notes and pinned Slack messages. */
function NoteBody({ item }: { item: TimelineItem }) {
  const p = item.payload;
  let text = item.text;
  let author = actorName(item.actor, p);
  let where = 'Note';
  if (item.kind === 'pagerduty.note') {
    text = typeof p.note === 'string' ? p.note : item.text;
    author = `${typeof p.author === 'string' ? p.author : 'Someone'} via PagerDuty`;
    where = 'Note in PagerDuty';
  } else if (item.kind === 'slack.message_pinned') {
    text = typeof p.text === 'string' ? p.text : item.text;
    const a = p.author as { name?: unknown } | null | undefined;
    author = `${a && typeof a.name === 'string' ? a.name : 'Someone'} in Slack`;
    where = 'Pinned message';
  }
  const permalink = typeof p.permalink === 'string' ? p.permalink : null;
  return (
    <figure className="timeline-note-figure" style={{ margin: 0 }}>
      <blockquote className="timeline-note">{text}</blockquote>
      <figcaption className="small muted">
        {where} by {author}
        {permalink ? (
          <>
            {' · '}
            <a href={permalink} target="_blank" rel="noreferrer">
              open in Slack
            </a>
          </>
        ) : null}
      </figcaption>
    </figure>
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
