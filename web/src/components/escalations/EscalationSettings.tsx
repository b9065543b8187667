// Escalation settings for the PagerDuty settings page: the fallback escalation service, whether to always page
// as the bot account, and the webhook (the URL to give PagerDuty and the secret of a subscription made by hand).
import { useState, type FormEvent } from 'react';
import { ApiError, call } from '../../api.js';
import type { Ok } from '../../api/operations.js';
import { useLoad } from '../../hooks.js';
import { CopyField, ErrorMessage, Field, Loading } from '../ui.js';

type Settings = Ok<'/api/v1/integrations/pagerduty/escalation_settings', 'get'>;

const base = '/api/v1/integrations/pagerduty';

export function EscalationSettings({ admin }: { admin: boolean }) {
  const settings = useLoad(() => call('get', `${base}/escalation_settings`), []);
  const [query, setQuery] = useState('');
  const services = useLoad(() => call('get', `${base}/escalation_options`, { query: { type: 'service', limit: 20, query: query.trim() } }).then((r) => r.options), [query]);
  const [secret, setSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const apiError = error instanceof ApiError ? error : null;

  const save = async (run: () => Promise<Settings>) => {
    setBusy(true);
    setError(null);
    try {
      settings.setData(await run());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const saveSecret = (e: FormEvent) => {
    e.preventDefault();
    void save(() => call('put', `${base}/webhook_secret`, { body: { secret: secret.trim() } })).then(() => setSecret(''));
  };

  if (!settings.data) return settings.loading ? <Loading label="Loading escalation settings…" /> : <ErrorMessage error={settings.error} />;
  const s = settings.data;
  return (
    <section className="card" aria-labelledby="escalation-settings-heading">
      <h2 id="escalation-settings-heading">Escalation</h2>
      <h3>Fallback escalation service</h3>
      <p className="muted">
        PagerDuty pages through a service. Firebreak pages a person directly on this service (with that person as the only assignee), and an escalation policy that no
        service uses on this service too (with the policy set on the incident). Pick a quiet service whose own alerts nobody relies on.
      </p>
      <p>
        Now: <strong>{s.fallback_service ? s.fallback_service.name : 'none chosen'}</strong>
        {!s.fallback_service ? <span className="muted"> — people cannot be paged directly until one is chosen.</span> : null}
      </p>
      {admin ? (
        <Field label="Choose from the synced PagerDuty services" error={apiError?.field('fallback_service_id')}>
          {(p) => (
            <div>
              <input {...p} type="search" value={query} placeholder="Search services" onChange={(e) => setQuery(e.target.value)} />
              <ul style={{ listStyle: 'none', padding: 0 }}>
                {(services.data ?? []).slice(0, 8).map((o) => (
                  <li key={o.id}>
                    <button type="button" className="button-quiet button-small" disabled={busy || o.id === s.fallback_service?.id} onClick={() => void save(() => call('patch', `${base}/escalation_settings`, { body: { fallback_service_id: o.id } }))}>
                      {o.name}
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </Field>
      ) : null}
      <h3>Who PagerDuty shows as asking</h3>
      <label>
        <input
          type="checkbox"
          checked={s.always_use_bot_account}
          disabled={!admin || busy}
          onChange={(e) => void save(() => call('patch', `${base}/escalation_settings`, { body: { always_use_bot_account: e.target.checked } }))}
        />{' '}
        Always page as the bot account (otherwise the person who escalates, when they have a PagerDuty account with the same email)
      </label>
      <h3>Webhooks</h3>
      {s.webhook.automatic ? (
        <p>{s.webhook.subscription_id ? `Firebreak created the subscription (${s.webhook.subscription_id}) when PagerDuty was connected.` : 'Firebreak creates the subscription when PagerDuty is connected.'}</p>
      ) : (
        <p className="muted">Firebreak does not know its public URL (PUBLIC_URL), so create a webhook subscription in PagerDuty by hand (incident and service events, for the account) with this URL, and paste its signing secret here. Until then Firebreak polls open escalations.</p>
      )}
      <CopyField label="Webhook URL" value={s.webhook.url} />
      <p>Signing secret: {s.webhook.secret_configured ? 'configured' : <strong>not configured</strong>}</p>
      {s.webhook.error ? <p className="notice notice-error">{s.webhook.error}</p> : null}
      {admin ? (
        <form className="inline-form" onSubmit={saveSecret}>
          <Field label="Signing secret of a subscription made by hand" hint="The previous secret keeps working until the next one, so rotating drops nothing." error={apiError?.field('secret')}>
            {(p) => <input {...p} type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} />}
          </Field>
          <button type="submit" disabled={busy || secret.trim().length < 8}>
            Save secret
          </button>
        </form>
      ) : null}
      <ErrorMessage error={error} title="Not saved." />
    </section>
  );
}
