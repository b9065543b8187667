// PagerDuty settings: auto-create rules. Which PagerDuty incidents open a Firebreak incident (services, teams,
// urgencies, priorities; none chosen = any) and whether it opens as triage (default) or live. Services and
// teams are picked by name from the synced catalog; rules store PagerDuty ids, shown here by name again. A note
// says that services marked incident-io-ignore never open one, and that attaching them by hand still works.
import { useEffect, useState, type FormEvent } from 'react';
import { useLoad } from '../../hooks.js';
import { Empty, ErrorMessage, Loading } from '../ui.js';
import { escalationsApi, type EscalationOption as Option } from '../escalations/escalationsApi.js';
import { pagerdutyLinksApi, type AutoCreateRule } from './pagerdutyLinksApi.js';

type Kind = 'service' | 'team';

const options = (type: Kind | 'priority', query: string, limit = 8) => escalationsApi.options(type, query, limit);

/** Names of the PagerDuty ids the rules use (the catalog finds an entry by its exact PagerDuty id). */
function useNames(rules: AutoCreateRule[] | null, picked: Map<string, string>): Map<string, string> {
  const [names, setNames] = useState(new Map<string, string>());
  useEffect(() => {
    if (!rules) return;
    const wanted: [Kind, string][] = [];
    for (const r of rules) {
      for (const id of r.service_ids ?? []) wanted.push(['service', id]);
      for (const id of r.team_ids ?? []) wanted.push(['team', id]);
    }
    const missing = wanted.filter(([, id]) => !names.has(id) && !picked.has(id));
    if (!missing.length) return;
    let live = true;
    void Promise.all(missing.map(async ([type, id]) => [id, (await options(type, id, 5).catch(() => [])).find((o) => o.id === id)?.name ?? null] as const)).then((found) => {
      if (!live) return;
      setNames((prev) => {
        const next = new Map(prev);
        for (const [id, name] of found) next.set(id, name ?? `${id} (not in the catalog)`);
        return next;
      });
    });
    return () => {
      live = false;
    };
  }, [rules, names, picked]);
  return names;
}

function Picker({ kind, label, chosen, onChange }: { kind: Kind; label: string; chosen: Option[]; onChange: (next: Option[]) => void }) {
  const [query, setQuery] = useState('');
  const found = useLoad(() => (query.trim() ? options(kind, query.trim()) : Promise.resolve([])), [kind, query]);
  const id = `auto-create-${kind}`;
  return (
    <div>
      <label htmlFor={id}>{label}</label>
      {chosen.length ? (
        <ul aria-label={`Chosen ${kind}s`} className="inline-list">
          {chosen.map((o) => (
            <li key={o.id}>
              {o.name}{' '}
              <button type="button" className="button-small button-quiet" aria-label={`Remove ${o.name}`} onClick={() => onChange(chosen.filter((c) => c.id !== o.id))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">Any {kind}.</p>
      )}
      <input id={id} type="search" value={query} placeholder={`Search ${kind}s`} onChange={(e) => setQuery(e.target.value)} />
      {found.data && found.data.length ? (
        <ul aria-label={`${kind}s found`} style={{ listStyle: 'none', padding: 0 }}>
          {found.data
            .filter((o) => !chosen.some((c) => c.id === o.id))
            .map((o) => (
              <li key={o.id}>
                <button type="button" className="button-quiet button-small" onClick={() => { onChange([...chosen, o]); setQuery(''); }}>
                  {o.name}
                </button>
              </li>
            ))}
        </ul>
      ) : query.trim() && found.data ? (
        <p className="muted">No synced {kind} matches “{query.trim()}”.</p>
      ) : null}
    </div>
  );
}

export function AutoCreateRulesCard({ isAdmin }: { isAdmin: boolean }) {
  const rules = useLoad(() => pagerdutyLinksApi.rules(), []);
  const priorities = useLoad(() => options('priority', '', 100), []);
  const [name, setName] = useState('');
  const [services, setServices] = useState<Option[]>([]);
  const [teams, setTeams] = useState<Option[]>([]);
  const [priorityIds, setPriorityIds] = useState<string[]>([]);
  const [urgency, setUrgency] = useState<'any' | 'high' | 'low'>('any');
  const [createAs, setCreateAs] = useState<AutoCreateRule['create_as']>('triage');
  const [error, setError] = useState<unknown>(null);
  const [picked, setPicked] = useState(new Map<string, string>());
  const names = useNames(rules.data ?? null, picked);
  const nameOf = (id: string) => picked.get(id) ?? names.get(id) ?? (priorities.data ?? []).find((p) => p.id === id)?.name ?? id;
  const show = (xs: string[] | null) => (xs && xs.length ? xs.map(nameOf).join(', ') : 'any');

  const run = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      rules.reload();
    } catch (err) {
      setError(err);
    }
  };
  const add = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await pagerdutyLinksApi.addRule({
        name: name.trim(),
        service_ids: services.length ? services.map((s) => s.id) : null,
        team_ids: teams.length ? teams.map((t) => t.id) : null,
        priority_ids: priorityIds.length ? priorityIds : null,
        urgencies: urgency === 'any' ? null : [urgency],
        create_as: createAs,
      });
      setPicked((prev) => new Map([...prev, ...[...services, ...teams].map((o) => [o.id, o.name] as const)]));
      setName('');
      setServices([]);
      setTeams([]);
      setPriorityIds([]);
    });
  };

  return (
    <div className="card">
      <h2>Open incidents from PagerDuty</h2>
      <p className="muted">A PagerDuty incident that triggers and matches a rule opens a Firebreak incident (once), named after it, with its severity mapped from the PagerDuty priority, and posts Accept / Decline in the announcements channel.</p>
      <p className="muted" role="note" aria-label="Ignored services">
        Services with <code>incident-io-ignore</code> in their PagerDuty description never open an incident, whatever the rule says (a rule for any service or
        for a team included); each one skipped is logged with its reason. You can still attach such a PagerDuty incident to an incident by hand, on the
        incident page or with <code>/incident pd link</code> in Slack.
      </p>
      {error ? <ErrorMessage error={error} /> : null}
      {rules.error ? <ErrorMessage error={rules.error} title="Could not load the rules." /> : null}
      {!rules.data ? (
        rules.loading ? <Loading label="Loading rules…" /> : null
      ) : rules.data.length === 0 ? (
        <Empty title="No rule: PagerDuty incidents do not open incidents." />
      ) : (
        <ul aria-label="Auto-create rules">
          {rules.data.map((r) => (
            <li key={r.id}>
              <strong>{r.name}</strong> — services {show(r.service_ids)}, teams {show(r.team_ids)}, urgencies {show(r.urgencies)}, priorities {show(r.priority_ids)} → {r.create_as}{' '}
              {isAdmin ? (
                <>
                  <label>
                    <input type="checkbox" checked={r.enabled} onChange={(e) => void run(() => pagerdutyLinksApi.updateRule(r.id, { enabled: e.target.checked }))} /> enabled
                  </label>{' '}
                  <button type="button" className="button-small button-quiet" onClick={() => void run(() => pagerdutyLinksApi.deleteRule(r.id))}>Delete</button>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {isAdmin ? (
        <form className="form" onSubmit={add} aria-label="Add an auto-create rule">
          <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required /></label>
          <Picker kind="service" label="PagerDuty services" chosen={services} onChange={setServices} />
          <Picker kind="team" label="PagerDuty teams" chosen={teams} onChange={setTeams} />
          <fieldset>
            <legend>PagerDuty priorities</legend>
            {priorities.data && priorities.data.length === 0 ? <p className="muted">No priority synced (the account may not use priorities): any priority matches.</p> : null}
            {(priorities.data ?? []).map((p) => (
              <label key={p.id}>
                <input type="checkbox" checked={priorityIds.includes(p.id)} onChange={(e) => setPriorityIds(e.target.checked ? [...priorityIds, p.id] : priorityIds.filter((x) => x !== p.id))} /> {p.name}
              </label>
            ))}
          </fieldset>
          <label>Urgency <select value={urgency} onChange={(e) => setUrgency(e.target.value as 'any' | 'high' | 'low')}><option value="any">any</option><option value="high">high</option><option value="low">low</option></select></label>
          <label>Open as <select value={createAs} onChange={(e) => setCreateAs(e.target.value as AutoCreateRule['create_as'])}><option value="triage">triage</option><option value="live">live</option></select></label>
          <button type="submit" disabled={!name.trim()}>Add rule</button>
        </form>
      ) : null}
    </div>
  );
}
