// Escalation settings for the PagerDuty settings page: the fallback escalation service, whether to always page
// as the bot account, and the webhook: where PagerDuty delivers (PUBLIC_URL, else the listening address), its
// health (last delivery, last signature failure), "Send test" (PagerDuty's ping), and the secret of a
// subscription made by hand.
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, call } from '../../api.js';
import type { Ok } from '../../api/operations.js';
import { useLoad } from '../../hooks.js';
import { CopyField, DateTime, ErrorMessage, Field, Loading } from '../ui.js';

type Settings = Ok<'/api/v1/integrations/pagerduty/escalation_settings', 'get'>;
type Health = Ok<'/api/v1/integrations/pagerduty/webhook_health', 'get'>;

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
  // Catalog ids of accounts other than the first are `<account>:<id>`: the account a service belongs to, by name.
  const accountName = (serviceId: string) => {
    const account = serviceId.includes(':') ? serviceId.slice(0, serviceId.indexOf(':')) : 'default';
    return s.fallback_services.find((f) => f.account_id === account)?.account_name ?? account;
  };
  return (
    <section className="card" aria-labelledby="escalation-settings-heading">
      <h2 id="escalation-settings-heading">Escalation</h2>
      <h3>Fallback escalation service</h3>
      <p className="muted">
        PagerDuty pages through a service. Firebreak pages a person directly on this service (with that person as the only assignee), and an escalation policy that no
        service uses on this service too (with the policy set on the incident). Pick a quiet service whose own alerts nobody relies on.
      </p>
      {s.fallback_services.length > 1 ? (
        <>
          <p className="muted">Each PagerDuty account has its own: a service pages only in its account. Choosing a service sets it for the account it belongs to.</p>
          <ul aria-label="Fallback service of each account">
            {s.fallback_services.map((f) => (
              <li key={f.account_id}>
                {f.account_name}: <strong>{f.service ? f.service.name : 'none chosen'}</strong>
                {!f.service ? <span className="muted"> — people of this account cannot be paged directly until one is chosen.</span> : null}
                {admin && f.service ? (
                  <>
                    {' '}
                    <button type="button" className="button-quiet button-small" disabled={busy} onClick={() => void save(() => call('patch', `${base}/escalation_settings`, { body: { fallback_service_id: null, account_id: f.account_id } }))}>
                      Clear
                    </button>
                  </>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>
          Now: <strong>{s.fallback_service ? s.fallback_service.name : 'none chosen'}</strong>
          {!s.fallback_service ? <span className="muted"> — people cannot be paged directly until one is chosen.</span> : null}
        </p>
      )}
      {admin ? (
        <Field label="Choose from the synced PagerDuty services" error={apiError?.field('fallback_service_id')}>
          {(p) => (
            <div>
              <input {...p} type="search" value={query} placeholder="Search services" onChange={(e) => setQuery(e.target.value)} />
              <ul style={{ listStyle: 'none', padding: 0 }}>
                {(services.data ?? []).slice(0, 8).map((o) => (
                  <li key={o.id}>
                    <button type="button" className="button-quiet button-small" disabled={busy || s.fallback_services.some((f) => f.service?.id === o.id) || o.id === s.fallback_service?.id} onClick={() => void save(() => call('patch', `${base}/escalation_settings`, { body: { fallback_service_id: o.id } }))}>
                      {o.name}
                      {s.fallback_services.length > 1 ? ` (${accountName(o.id)})` : ''}
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
      <WebhookHealthView admin={admin} secretSaved={s.webhook.secret_configured} />
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

/** What PUBLIC_URL means here, in the same words as the README. */
const WHERE: Record<Health['reason'], string> = {
  public_url: 'PagerDuty delivers to PUBLIC_URL. Firebreak created the subscription when PagerDuty was connected.',
  same_machine:
    'PUBLIC_URL is not set, so this is Firebreak\'s listening address. PagerDuty is on this machine (an emulator) and can reach it, so Firebreak created the subscription when PagerDuty was connected.',
  not_reachable:
    'PUBLIC_URL is not set, so this is Firebreak\'s listening address, which PagerDuty cannot reach from the internet. Set PUBLIC_URL to the address PagerDuty can reach and reconnect, or create a webhook subscription in PagerDuty by hand (incident and service events, for the account) with this URL and paste its signing secret below. Until then Firebreak polls open escalations.',
};

/** Webhooks: where PagerDuty delivers, the last delivery received, the last signature failure, and "Send test". */
function WebhookHealthView({ admin, secretSaved }: { admin: boolean; secretSaved: boolean }) {
  const health = useLoad(() => call('get', `${base}/webhook_health`), [secretSaved]);
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);
  const h = health.data;
  const waiting = !!h?.ping.sent_at && !h.ping.received_at;
  // After "Send test", look again every second until the ping arrives (at most 30 s).
  const [tries, setTries] = useState(0);
  const reload = health.reload;
  useEffect(() => {
    if (!waiting || tries >= 30) return;
    const t = setTimeout(() => {
      setTries((n) => n + 1);
      reload();
    }, 1000);
    return () => clearTimeout(t);
  }, [waiting, tries, reload]);
  const sendTest = async () => {
    setSending(true);
    setError(null);
    setTries(0);
    try {
      health.setData(await call('post', `${base}/webhook_test`));
    } catch (err) {
      setError(err);
    } finally {
      setSending(false);
    }
  };
  if (!h) return health.loading ? <Loading label="Loading the webhook…" /> : <ErrorMessage error={health.error} />;
  return (
    <div aria-label="Webhooks" role="group">
      <h3>Webhooks</h3>
      <p className={h.automatic ? undefined : 'muted'}>{WHERE[h.reason]}</p>
      <CopyField label="Webhook URL" value={h.url} />
      <dl className="facts">
        <dt>Subscription</dt>
        <dd>{h.subscription_id ? <span className="mono">{h.subscription_id}</span> : h.secret_configured ? 'made by hand' : 'none yet'}</dd>
        <dt>Signing secret</dt>
        <dd>{h.secret_configured ? 'configured' : <strong>not configured</strong>}</dd>
        <dt>Last delivery received</dt>
        <dd>{h.last_delivery ? <><DateTime value={h.last_delivery.received_at} /> <span className="muted">({h.last_delivery.event_type})</span></> : 'none yet'}</dd>
        <dt>Last signature failure</dt>
        <dd>{h.last_signature_failure_at ? <DateTime value={h.last_signature_failure_at} /> : 'none'}</dd>
        <dt>Test</dt>
        <dd role="status">
          {!h.ping.sent_at ? 'not sent' : h.ping.received_at ? <>sent <DateTime value={h.ping.sent_at} />, arrived <DateTime value={h.ping.received_at} /></> : tries >= 30 ? <>sent <DateTime value={h.ping.sent_at} />, <strong>has not arrived</strong></> : <>sent <DateTime value={h.ping.sent_at} />, waiting for it to arrive…</>}
        </dd>
      </dl>
      {h.error ? <p className="notice notice-error">{h.error}</p> : null}
      {admin ? (
        <div className="form-actions">
          <button type="button" disabled={sending || !h.subscription_id} onClick={() => void sendTest()} title={h.subscription_id ? undefined : 'Firebreak needs the subscription id to ask PagerDuty for a test'}>
            {sending ? 'Sending…' : 'Send test'}
          </button>
        </div>
      ) : null}
      <ErrorMessage error={error} title="The test was not sent." />
    </div>
  );
}
