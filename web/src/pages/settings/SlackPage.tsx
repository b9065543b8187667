// Settings → Integrations → Slack: connect with the bot token and the signing secret (HTTP) or an app-level token
// (Socket Mode, no public URL needed) of the Slack app made from the manifest, see the connected workspace, the bot
// and the socket's state, and disconnect. Secrets are shown masked only.
import { useState } from 'react';
import { CopyField, ErrorMessage, Field } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useSession } from '../../session.js';
import { slackApi, type SlackStatus } from '../../slack/api.js';

export function SlackPage() {
  const status = useLoad(() => slackApi.status(), []);
  return (
    <SettingsPage title="Slack" integration>
      <LoadGate state={status} loading="Loading the Slack connection…" failed="Could not load the Slack connection.">
        {(slack) => (
          <>
            {slack.status === 'not_connected' ? null : <Connected status={slack} onChange={status.setData} reload={status.reload} />}
            {slack.status === 'not_connected' ? null : <ChannelSettings status={slack} onSaved={status.setData} />}
            {slack.source === 'environment' ? null : <ConnectForm status={slack} onConnected={status.setData} />}
          </>
        )}
      </LoadGate>
    </SettingsPage>
  );
}

const SOCKET_STATE: Record<NonNullable<SlackStatus['socket_mode']>['state'], string> = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  error: 'refused (see the error above)',
  stopped: 'not running',
};

function Connected({ status, onChange, reload }: { status: SlackStatus; onChange: (s: SlackStatus) => void; reload: () => void }) {
  const session = useSession();
  const isAdmin = session.user.role === 'admin' || session.user.role === 'owner';
  const { error, run } = useSubmit();
  const [confirming, setConfirming] = useState(false);
  const disconnect = () =>
    run(async () => {
      await slackApi.disconnect();
      onChange({ ...status, status: 'not_connected', team: null, bot_name: null, bot_token: null, signing_secret: null, app_token: null, transport: 'http', socket_mode: null });
      reload();
    });
  return (
    <div className="card">
      <h2>Connection</h2>
      {status.status === 'error' && status.error ? <p className="notice notice-error">{status.error}</p> : null}
      <dl className="facts">
        <dt>Workspace</dt>
        <dd>{status.team ?? '—'}</dd>
        <dt>Bot</dt>
        <dd>{status.bot_name ? `@${status.bot_name}` : '—'}</dd>
        <dt>Bot token</dt>
        <dd className="mono">{status.bot_token ?? '—'}</dd>
        <dt>Signing secret</dt>
        <dd className="mono">{status.signing_secret ?? '—'}</dd>
        <dt>App-level token</dt>
        <dd className="mono">{status.app_token ?? '—'}</dd>
        <dt>Announcements channel</dt>
        <dd>{status.announcements_channel ?? <span className="muted">none</span>}</dd>
        <dt>Configured by</dt>
        <dd>{status.source === 'environment' ? `environment variables (SLACK_BOT_TOKEN, ${status.transport === 'socket_mode' ? 'SLACK_APP_TOKEN' : 'SLACK_SIGNING_SECRET'})` : 'this page'}</dd>
        <dt>Slack reaches Firebreak by</dt>
        <dd>{status.transport === 'socket_mode' ? `Socket Mode: ${SOCKET_STATE[status.socket_mode?.state ?? 'stopped']}` : 'HTTP requests to the URL below'}</dd>
      </dl>
      {status.transport === 'http' ? <CopyField label="Request URL for commands, interactivity and events" value={status.events_url} /> : null}
      {isAdmin && status.source === 'integration' ? (
        <div className="form-actions">
          {confirming ? (
            <>
              <span>Disconnect Slack? The stored tokens and secret are deleted; channels and messages stay in Slack.</span>
              <button type="button" className="button-danger" onClick={() => void disconnect()}>
                Yes, disconnect
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </>
          ) : (
            <button type="button" onClick={() => setConfirming(true)}>
              Disconnect Slack
            </button>
          )}
        </div>
      ) : null}
      <ErrorMessage error={error} />
    </div>
  );
}

/** Incident channels: archive a channel a while after its incident closes (never by default). */
function ChannelSettings({ status, onSaved }: { status: SlackStatus; onSaved: (s: SlackStatus) => void }) {
  const session = useSession();
  const isAdmin = session.user.role === 'admin' || session.user.role === 'owner';
  const current = status.archive_after_close_minutes;
  const [archive, setArchive] = useState(current !== null);
  const [minutes, setMinutes] = useState(String(current ?? 1440));
  const [saved, setSaved] = useState(false);
  const { busy, error, field, onSubmit } = useSubmit();
  const describe = current === null ? 'never archived by Firebreak' : current === 0 ? 'archived as soon as the incident closes' : `archived ${current} minutes after the incident closes`;
  if (!isAdmin) {
    return (
      <div className="card">
        <h2>Incident channels</h2>
        <p>Channels are {describe}, unless the incident is reopened first.</p>
      </div>
    );
  }
  const submit = onSubmit(async () => {
    setSaved(false);
    onSaved(await slackApi.saveSettings({ archive_after_close_minutes: archive ? Number(minutes) : null }));
    setSaved(true);
  });
  return (
    <div className="card">
      <h2>Incident channels</h2>
      <p>
        Firebreak keeps each incident channel&apos;s topic to its status, severity and lead. Now: channels are {describe}
        {current === null ? '.' : ', unless the incident is reopened first.'}
      </p>
      <form className="form" onSubmit={submit} aria-label="Incident channel settings">
        <label className="checkbox">
          <input type="checkbox" name="archive" checked={archive} onChange={(e) => setArchive(e.target.checked)} /> Archive an incident&apos;s channel after it closes
        </label>
        {archive ? (
          <Field label="Minutes after closing" hint="0 archives right away; 1440 is a day. A reopened incident keeps its channel." error={field('archive_after_close_minutes')}>
            {(p) => <input {...p} name="archive_after_close_minutes" type="number" min={0} max={43200} step="any" required value={minutes} onChange={(e) => setMinutes(e.target.value)} />}
          </Field>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={busy || (archive && (minutes.trim() === '' || Number.isNaN(Number(minutes))))}>
            {busy ? 'Saving…' : 'Save'}
          </button>
          {saved ? <span role="status">Saved.</span> : null}
        </div>
      </form>
      <ErrorMessage error={error} />
    </div>
  );
}

function ConnectForm({ status, onConnected }: { status: SlackStatus; onConnected: (s: SlackStatus) => void }) {
  const session = useSession();
  const isAdmin = session.user.role === 'admin' || session.user.role === 'owner';
  const [botToken, setBotToken] = useState('');
  const [signingSecret, setSigningSecret] = useState('');
  const [appToken, setAppToken] = useState('');
  const [channel, setChannel] = useState(status.announcements_channel ?? '');
  const { busy: saving, error, field, onSubmit } = useSubmit();

  if (!isAdmin) return status.status === 'not_connected' ? <p className="notice">Slack is not connected. Ask an admin to connect it.</p> : null;
  const submit = onSubmit(async () => {
    onConnected(
      await slackApi.connect({ bot_token: botToken.trim(), signing_secret: signingSecret.trim() || null, app_token: appToken.trim() || null, announcements_channel: channel.trim() || null }),
    );
    setBotToken('');
    setSigningSecret('');
    setAppToken('');
  });
  return (
    <div className="card">
      <h2>{status.status === 'not_connected' ? 'Connect Slack' : 'Replace the Slack credentials'}</h2>
      <ol className="steps">
        <li>
          At api.slack.com/apps choose <em>Create New App → From an app manifest</em> and paste <code>src/integrations/slack/manifest.yaml</code> from
          the Firebreak repository, with your Firebreak address in place of the example one.
        </li>
        <li>
          Install the app to your workspace, then copy the <em>Bot User OAuth Token</em> and, from <em>Basic Information</em>, the <em>Signing Secret</em>. Without a
          public URL, use <code>manifest.socket-mode.yaml</code> instead and create an <em>App-Level Token</em> with the <code>connections:write</code> scope (
          <em>Basic Information → App-Level Tokens</em>).
        </li>
      </ol>
      <form className="form" onSubmit={submit} aria-label="Slack credentials">
        <Field label="Bot token" hint="Starts with xoxb-. Firebreak checks it with Slack before saving, stores it encrypted and never shows it again." error={field('bot_token')}>
          {(p) => <input {...p} name="bot_token" type="password" autoComplete="off" required value={botToken} onChange={(e) => setBotToken(e.target.value)} />}
        </Field>
        <Field
          label="Signing secret"
          hint="Firebreak uses it to check that requests really come from Slack. Not needed when an app-level token is given (Socket Mode)."
          error={field('signing_secret')}
        >
          {(p) => <input {...p} name="signing_secret" type="password" autoComplete="off" required={!appToken.trim()} value={signingSecret} onChange={(e) => setSigningSecret(e.target.value)} />}
        </Field>
        <Field
          label="App-level token (Socket Mode, for installs without a public URL)"
          hint="Optional. Starts with xapp-, from Basic Information → App-Level Tokens with the connections:write scope. With it Firebreak opens the connection to Slack itself; checked with Slack before saving, stored encrypted, never shown again."
          error={field('app_token')}
        >
          {(p) => <input {...p} name="app_token" type="password" autoComplete="off" value={appToken} onChange={(e) => setAppToken(e.target.value)} />}
        </Field>
        <Field label="Announcements channel (optional)" hint="The ID of the channel where new incidents are announced, e.g. C0123ABCD." error={field('announcements_channel')}>
          {(p) => <input {...p} name="announcements_channel" value={channel} onChange={(e) => setChannel(e.target.value)} />}
        </Field>
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={saving || !botToken.trim() || (!signingSecret.trim() && !appToken.trim())}>
            {saving ? 'Checking with Slack…' : 'Connect Slack'}
          </button>
        </div>
      </form>
      <ErrorMessage error={error} />
    </div>
  );
}
