// PagerDuty settings: auto-create rules. Which PagerDuty incidents open a Firebreak incident (services by id,
// teams by id, urgencies, priorities; empty = any) and whether it opens as triage (default) or live.
import { useState, type FormEvent } from 'react';
import { useLoad } from '../../hooks.js';
import { Empty, ErrorMessage, Loading } from '../ui.js';
import { pagerdutyLinksApi, type AutoCreateRule } from './pagerdutyLinksApi.js';

const list = (s: string) => {
  const xs = s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
  return xs.length ? xs : null;
};
const show = (xs: string[] | null) => (xs && xs.length ? xs.join(', ') : 'any');

export function AutoCreateRulesCard({ isAdmin }: { isAdmin: boolean }) {
  const rules = useLoad(() => pagerdutyLinksApi.rules(), []);
  const [name, setName] = useState('');
  const [services, setServices] = useState('');
  const [teams, setTeams] = useState('');
  const [priorities, setPriorities] = useState('');
  const [urgency, setUrgency] = useState<'any' | 'high' | 'low'>('any');
  const [createAs, setCreateAs] = useState<AutoCreateRule['create_as']>('triage');
  const [error, setError] = useState<unknown>(null);

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
      await pagerdutyLinksApi.addRule({ name: name.trim(), service_ids: list(services), team_ids: list(teams), priority_ids: list(priorities), urgencies: urgency === 'any' ? null : [urgency], create_as: createAs });
      setName('');
    });
  };

  return (
    <div className="card">
      <h2>Open incidents from PagerDuty</h2>
      <p className="muted">A PagerDuty incident that triggers and matches a rule opens a Firebreak incident (once), named after it, with its severity mapped from the PagerDuty priority, and posts Accept / Decline in the announcements channel.</p>
      {error ? <ErrorMessage error={error} /> : null}
      {rules.error ? <ErrorMessage error={rules.error} title="Could not load the rules." /> : null}
      {!rules.data ? (
        rules.loading ? <Loading label="Loading rules…" /> : null
      ) : rules.data.length === 0 ? (
        <Empty title="No rule: PagerDuty incidents do not open incidents." />
      ) : (
        <ul>
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
          <label>PagerDuty service ids (empty = all) <input value={services} onChange={(e) => setServices(e.target.value)} /></label>
          <label>PagerDuty team ids <input value={teams} onChange={(e) => setTeams(e.target.value)} /></label>
          <label>PagerDuty priority ids <input value={priorities} onChange={(e) => setPriorities(e.target.value)} /></label>
          <label>Urgency <select value={urgency} onChange={(e) => setUrgency(e.target.value as 'any' | 'high' | 'low')}><option value="any">any</option><option value="high">high</option><option value="low">low</option></select></label>
          <label>Open as <select value={createAs} onChange={(e) => setCreateAs(e.target.value as AutoCreateRule['create_as'])}><option value="triage">triage</option><option value="live">live</option></select></label>
          <button type="submit" disabled={!name.trim()}>Add rule</button>
        </form>
      ) : null}
    </div>
  );
}
