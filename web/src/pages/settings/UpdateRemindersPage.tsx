// Update reminders: when a live incident has had no update for this many minutes (per severity), its lead gets a
// Slack DM with a button to post one. Everyone can read the setting; admins change it.
import { useState } from 'react';
import { call } from '../../api.js';
import type { Ok } from '../../api/operations.js';
import { ErrorMessage, Field } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { isAdmin, useSession } from '../../session.js';

type Reminders = Ok<'/api/v1/settings/update_reminders', 'get'>['update_reminders'];

const remindersApi = {
  get: () => call('get', '/api/v1/settings/update_reminders').then((r) => r.update_reminders),
  put: (body: { enabled: boolean; minutes_by_severity: Record<string, number> }) => call('put', '/api/v1/settings/update_reminders', { body }).then((r) => r.update_reminders),
};

export function UpdateRemindersPage() {
  const session = useSession();
  const admin = isAdmin(session.user.role);
  const state = useLoad(() => remindersApi.get(), []);
  useLive(['settings'], null, state.refresh);
  // Kept here: the form is made afresh from what the server answers (also after a change made elsewhere).
  const [saved, setSaved] = useState(false);
  return (
    <SettingsPage
      title="Update reminders"
      lead="When a live incident has had no update for a while, its lead gets a Slack message with a button to post one. Incidents without a lead get no reminder."
    >
      {!admin && !state.error ? <p className="notice">Only owners and admins can change update reminders.</p> : null}
      <LoadGate state={state} loading="Loading update reminders…" failed="Could not load update reminders.">
        {(r) => (
          <RemindersForm
            key={JSON.stringify(r)}
            reminders={r}
            admin={admin}
            onEdit={() => setSaved(false)}
            onSaved={(next) => {
              state.setData(next);
              setSaved(true);
            }}
          />
        )}
      </LoadGate>
      {saved ? <p role="status">Saved.</p> : null}
    </SettingsPage>
  );
}

function RemindersForm({ reminders, admin, onEdit, onSaved }: { reminders: Reminders; admin: boolean; onEdit: () => void; onSaved: (r: Reminders) => void }) {
  const [enabled, setEnabled] = useState(reminders.enabled);
  const [minutes, setMinutes] = useState<Record<string, string>>(() => Object.fromEntries(reminders.severities.map((s) => [s.id, String(s.minutes)])));
  const { busy, error, field, onSubmit } = useSubmit();

  const submit = onSubmit(async () => {
    const next = await remindersApi.put({ enabled, minutes_by_severity: Object.fromEntries(Object.entries(minutes).map(([id, m]) => [id, Number(m)])) });
    onSaved(next);
  });

  return (
    <form className="form" onSubmit={submit} aria-label="Update reminders">
      <label className="checkbox">
        <input type="checkbox" checked={enabled} disabled={!admin} onChange={(e) => (setEnabled(e.target.checked), onEdit())} /> Remind the lead when an incident has gone quiet
      </label>
      <fieldset disabled={!admin || !enabled}>
        <legend>Minutes without an update, by severity (5 to 1440)</legend>
        {reminders.severities.map((s) => (
          <Field key={s.id} label={s.name} error={field(`minutes_by_severity.${s.id}`)}>
            {(p) => <input {...p} type="number" min={5} max={1440} step={1} required value={minutes[s.id] ?? ''} onChange={(e) => (setMinutes({ ...minutes, [s.id]: e.target.value }), onEdit())} />}
          </Field>
        ))}
      </fieldset>
      <ErrorMessage error={error} title="Not saved." />
      {admin ? (
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      ) : null}
    </form>
  );
}
