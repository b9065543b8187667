// PagerDuty settings: two-way close. Whether a triage incident opened from PagerDuty closes (or moves to the chosen
// status) by itself once every related PagerDuty incident linked to it is resolved in PagerDuty (default off; other
// incidents get a question in their Slack channel instead). Admins change it; others see it. Live through `settings`.
import { useId } from 'react';
import { call } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { ErrorMessage, Loading } from '../ui.js';

const path = '/api/v1/integrations/pagerduty/all_resolved_settings';

export function AllResolvedCard({ isAdmin }: { isAdmin: boolean }) {
  const settings = useLoad(() => call('get', path), []);
  const statuses = useLoad(() => call('get', '/api/v1/statuses').then((r) => r.statuses), []);
  const { busy, error, run } = useSubmit();
  const id = useId();
  useLive(['settings'], null, () => settings.refresh());
  // Shown at once (a checkbox that waits for the server looks as if the click was lost); the answer replaces it,
  // and a refusal reloads what is stored.
  const save = (body: { automatic_for_triage: boolean; status_id: string | null }) => {
    if (settings.data) settings.setData({ ...settings.data, ...body });
    void run(async () => {
      try {
        settings.setData(await call('put', path, { body }));
      } catch (err) {
        settings.refresh();
        throw err;
      }
    });
  };
  const targets = (statuses.data ?? []).filter((s) => ['closed', 'declined', 'live'].includes(s.category));
  const d = settings.data;
  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>When all linked PagerDuty incidents are resolved</h2>
      {settings.error ? <ErrorMessage error={settings.error} title="Could not load the setting." /> : null}
      {!d && !settings.error ? <Loading label="Loading the setting…" /> : null}
      {d ? (
        <>
          <p className="hint">
            When every PagerDuty incident linked to a live incident (except those marked not related) is resolved in PagerDuty, Firebreak says so once in
            the incident's Slack channel, with buttons to move it to Monitoring, close it or keep it open.
          </p>
          <div className="field">
            <label htmlFor={`${id}-auto`}>
              <input
                id={`${id}-auto`}
                type="checkbox"
                checked={d.automatic_for_triage}
                disabled={!isAdmin || busy}
                onChange={(e) => save({ automatic_for_triage: e.target.checked, status_id: d.status_id })}
              />{' '}
              Do it automatically for triage incidents opened from PagerDuty
            </label>
          </div>
          <div className="field">
            <label htmlFor={`${id}-status`}>Move them to</label>
            <select
              id={`${id}-status`}
              value={d.status_id ?? ''}
              disabled={!isAdmin || busy}
              onChange={(e) => save({ automatic_for_triage: d.automatic_for_triage, status_id: e.target.value || null })}
            >
              <option value="">{`Closed (the first closed status${d.status && !d.status_id ? `: ${d.status.name}` : ''})`}</option>
              {targets.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name} ({s.category})
                </option>
              ))}
            </select>
            <p className="hint">
              Done as PagerDuty, with the reason on the timeline and in the channel. While this is on, auto-decline waits for every linked PagerDuty incident
              instead of declining when the first one resolves.
            </p>
          </div>
        </>
      ) : null}
      {error ? <ErrorMessage error={error} /> : null}
    </section>
  );
}
