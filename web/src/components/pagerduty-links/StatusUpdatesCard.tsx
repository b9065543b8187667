// PagerDuty settings: whether each incident update is also posted to the incident's linked PagerDuty incidents as
// a PagerDuty status update (default on). Admins switch it; others see it. Stays current through the live feed.
import { useId } from 'react';
import { call } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { ErrorMessage, Loading } from '../ui.js';

const path = '/api/v1/integrations/pagerduty/status_update_settings';

export function StatusUpdatesCard({ isAdmin }: { isAdmin: boolean }) {
  const settings = useLoad(() => call('get', path), []);
  const { busy, error, run } = useSubmit();
  const id = useId();
  useLive(['settings'], null, () => settings.refresh());
  // Shown at once (a checkbox that waits for the server looks as if the click was lost); the answer replaces it,
  // and a refusal reloads what is stored.
  const toggle = (enabled: boolean) => {
    if (settings.data) settings.setData({ ...settings.data, enabled });
    void run(async () => {
      try {
        settings.setData(await call('put', path, { body: { enabled } }));
      } catch (err) {
        settings.refresh();
        throw err;
      }
    });
  };
  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>PagerDuty status updates</h2>
      {settings.error ? <ErrorMessage error={settings.error} title="Could not load the status update setting." /> : null}
      {!settings.data && !settings.error ? <Loading label="Loading the status update setting…" /> : null}
      {settings.data ? (
        <div className="field">
          <label htmlFor={id}>
            <input id={id} type="checkbox" checked={settings.data.enabled} disabled={!isAdmin || busy} onChange={(e) => toggle(e.target.checked)} />{' '}
            Post each incident update to the linked PagerDuty incidents as a status update
          </label>
          <p className="hint">
            Sent as the bot account, once per linked PagerDuty incident, so stakeholders subscribed in PagerDuty see it. Resolved PagerDuty incidents are
            skipped; where each update went (or why PagerDuty refused it) shows on the update.
          </p>
        </div>
      ) : null}
      {error ? <ErrorMessage error={error} /> : null}
    </section>
  );
}
