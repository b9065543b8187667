// PagerDuty settings: how incidents opened from PagerDuty are triaged. The severity each synced PagerDuty priority
// opens as ("Default" shows what the server would choose: by the priority's name, P1 the most severe, and by
// urgency, a high-urgency page at least the second most severe), the grouping window (a new PagerDuty incident on
// the same service or incident key within it is offered to the open incident instead of opening another), and
// whether a triage incident is declined when PagerDuty resolves it first. Admins change them; others read them.
import { useId, useState, type FormEvent } from 'react';
import { api, call } from '../../api.js';
import type { Ok } from '../../api/operations.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { ErrorMessage, Loading } from '../ui.js';

const path = '/api/v1/integrations/pagerduty/auto_create_settings';
type Settings = Ok<typeof path, 'get'>;

export function AutoCreateSettingsCard({ isAdmin }: { isAdmin: boolean }) {
  const settings = useLoad(() => call('get', path), []);
  const severities = useLoad(() => api.severities(), []);
  if (settings.error) return <ErrorMessage error={settings.error} title="Could not load the triage settings." />;
  if (!settings.data || !severities.data) return <Loading label="Loading triage settings…" />;
  return <SettingsForm isAdmin={isAdmin} initial={settings.data} severities={severities.data} />;
}

/** The form, its fields starting from the settings as loaded (so nothing shows the defaults first). */
function SettingsForm({ isAdmin, initial, severities }: { isAdmin: boolean; initial: Settings; severities: { id: string; name: string; rank: number }[] }) {
  const [s, setS] = useState(initial);
  const [map, setMap] = useState<Record<string, string>>(initial.severity_map);
  const [windowMinutes, setWindowMinutes] = useState(String(initial.grouping_window_minutes));
  const [autoDecline, setAutoDecline] = useState(initial.auto_decline_on_resolve);
  const [saved, setSaved] = useState(false);
  const { busy, error, field, run } = useSubmit();
  const ids = { window: useId(), decline: useId() };
  const ordered = [...severities].sort((a, b) => b.rank - a.rank);

  const reset = (next: Settings) => {
    setS(next);
    setMap(next.severity_map);
    setWindowMinutes(String(next.grouping_window_minutes));
    setAutoDecline(next.auto_decline_on_resolve);
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    void run(async () => {
      const next = await call('patch', path, { body: { severity_map: map, grouping_window_minutes: Number(windowMinutes), auto_decline_on_resolve: autoDecline } });
      reset(next);
      setSaved(true);
    });
  };

  return (
    <section className="card" aria-labelledby="triage-settings-heading">
      <h2 id="triage-settings-heading">Triage of incidents opened from PagerDuty</h2>
      <form className="form" onSubmit={submit} aria-label="Triage settings">
        <fieldset className="field" disabled={!isAdmin}>
          <legend>Severity by PagerDuty priority</legend>
          <p className="hint">
            Without a choice here, a priority named P1 opens as the most severe severity, P2 the next, and so on; a high-urgency page opens at least
            as {s.defaults.high_urgency?.name ?? 'the second most severe'}, a low-urgency one without priority as {s.defaults.low_urgency?.name ?? 'the least severe'}.
          </p>
          {s.defaults.priorities.length === 0 ? <p className="muted">No PagerDuty priority is synced (the account may not use priorities): severity follows urgency.</p> : null}
          <table className="table table-compact">
            <tbody>
              {s.defaults.priorities.map((p) => (
                <tr key={p.id}>
                  <th scope="row">{p.name}</th>
                  <td>
                    <select
                      aria-label={`Severity for ${p.name}`}
                      value={map[p.id] ?? ''}
                      onChange={(e) => {
                        const next = { ...map };
                        if (e.target.value) next[p.id] = e.target.value;
                        else delete next[p.id];
                        setMap(next);
                      }}
                    >
                      <option value="">Default{p.severity ? ` (${p.severity.name}, or more when high urgency)` : ''}</option>
                      {ordered.map((v) => (
                        <option key={v.id} value={v.id}>
                          {v.name}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </fieldset>
        <div className={`field${field('grouping_window_minutes') ? ' field-invalid' : ''}`}>
          <label htmlFor={ids.window}>Grouping window (minutes)</label>
          <input id={ids.window} type="number" min={0} max={1440} step={1} value={windowMinutes} disabled={!isAdmin} onChange={(e) => setWindowMinutes(e.target.value)} style={{ maxWidth: '8rem' }} />
          <span className="hint">A PagerDuty incident on the same service or incident key as an open incident opened within this window is offered to it instead of opening another. 0 turns grouping off.</span>
          {field('grouping_window_minutes') ? <span className="field-error">{field('grouping_window_minutes')}</span> : null}
        </div>
        <label className="choice" htmlFor={ids.decline}>
          <input id={ids.decline} type="checkbox" checked={autoDecline} disabled={!isAdmin} onChange={(e) => setAutoDecline(e.target.checked)} />
          <span>Decline a triage incident when PagerDuty resolves it first</span>
        </label>
        <ErrorMessage error={error} title="The triage settings were not saved." />
        {saved ? (
          <p className="notice notice-ok" role="status">
            Triage settings saved.
          </p>
        ) : null}
        {isAdmin ? (
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save triage settings'}
            </button>
          </div>
        ) : (
          <p className="muted">Only admins change these.</p>
        )}
      </form>
    </section>
  );
}
