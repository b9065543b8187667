// Settings → Integrations → PagerDuty: connect (region, key, bot account), then the connection, "Sync now"
// with live progress, the recent sync runs, changing the bot account and disconnecting.
import { useState } from 'react';
import { DateTime, ErrorMessage, Field } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { Link } from '../../router.js';
import { useSession } from '../../session.js';
import { pdApi, type KeyInput, type PagerDutyStatus, type PdAccount, type PdUser } from '../../pagerduty/api.js';
import { FollowedRun, SyncRunView } from '../../pagerduty/SyncRunView.js';
import { EscalationSettings } from '../../components/escalations/EscalationSettings.js';
import { AutoCreateRulesCard } from '../../components/pagerduty-links/AutoCreateRulesCard.js';
import { AutoCreateSettingsCard } from '../../components/pagerduty-links/AutoCreateSettingsCard.js';
import { StatusUpdatesCard } from '../../components/pagerduty-links/StatusUpdatesCard.js';
import { AllResolvedCard } from '../../components/pagerduty-links/AllResolvedCard.js';

export function PagerDutyPage() {
  const status = useLoad(() => pdApi.status(), []);
  return (
    <SettingsPage title="PagerDuty" integration>
      <LoadGate state={status} loading="Loading the PagerDuty connection…" failed="Could not load the PagerDuty connection.">
        {(pd) => (pd.connected ? <Connected status={pd} reload={status.reload} /> : <ConnectForm onConnected={(s) => status.setData(s)} />)}
      </LoadGate>
    </SettingsPage>
  );
}

/** PagerDuty's roles as people read them; the read-only ones may be refused writes. */
const ROLE_LABELS: Record<string, string> = {
  owner: 'Account owner', admin: 'Admin', manager: 'Manager', user: 'User', limited_user: 'Limited user', observer: 'Observer',
  restricted_access: 'Restricted access', read_only_user: 'Read-only user', read_only_limited_user: 'Read-only limited user',
};
const READ_ONLY = new Set(['observer', 'restricted_access', 'read_only_user', 'read_only_limited_user']);
const roleLabel = (r: string | null | undefined) => (r ? (ROLE_LABELS[r] ?? r) : 'role unknown');

function RoleWarning({ user }: { user: PdUser | undefined }) {
  if (!user?.role || !READ_ONLY.has(user.role)) return null;
  return (
    <p className="notice notice-error" role="alert">
      {user.name} is a PagerDuty {roleLabel(user.role)}. PagerDuty may refuse incidents and acknowledgements made as them, so Firebreak could not page anyone. Choose a user with the Account owner, Admin, Manager or User role. Connecting checks the choice with PagerDuty.
    </p>
  );
}

function BotExplanation() {
  return (
    <p className="hint">
      Every escalation Firebreak sends will come from this user's email: PagerDuty requires a user on every incident it creates, and integrations cannot create incidents on their own. If you would rather not attach incidents to a person, create a dedicated user in PagerDuty for Firebreak (PagerDuty charges a seat for it).
    </p>
  );
}

function ConnectForm({ onConnected, addAccount }: { onConnected: (s: PagerDutyStatus) => void; addAccount?: (name: string, k: KeyInput, botUserId: string) => Promise<void> }) {
  const [name, setName] = useState('');
  const session = useSession();
  const [region, setRegion] = useState<'us' | 'eu'>('us');
  const [baseUrl, setBaseUrl] = useState('');
  const [apiKey, setApiKey] = useState('');
  // Checking the key and connecting are two steps with their own busy state and one error between them.
  const checking = useSubmit();
  const connecting = useSubmit();
  const error = checking.error ?? connecting.error;
  const [users, setUsers] = useState<PdUser[] | null>(null);
  const [query, setQuery] = useState('');
  const [bot, setBot] = useState<string>('');
  const key = (): KeyInput => ({ region, base_url: baseUrl.trim() || null, api_key: apiKey });
  // The chosen user stays known while a search shows others.
  const [chosen, setChosen] = useState<PdUser | undefined>(undefined);
  const choose = (u: PdUser) => {
    setBot(u.id);
    setChosen(u);
  };
  const isAdmin = session.user.role === 'admin' || session.user.role === 'owner';

  const check = checking.onSubmit(async () => {
    connecting.setError(null);
    setUsers(null);
    const r = await pdApi.checkKey(key());
    setUsers(r.users);
    setBot('');
    setChosen(undefined);
  });
  const search = (q: string) => {
    setQuery(q);
    // A failed search shows its error but leaves the list as it was; a search does not clear an earlier error.
    pdApi.checkKey(key(), q).then((r) => setUsers(r.users), checking.setError);
  };
  const connect = connecting.onSubmit(async () => {
    checking.setError(null);
    if (addAccount) await addAccount(name.trim(), key(), bot);
    else onConnected(await pdApi.connect(key(), bot));
    setApiKey('');
  });

  if (!isAdmin) return <p className="notice">PagerDuty is not connected. Ask an admin to connect it.</p>;
  const field = (path: string) => checking.field(path) ?? connecting.field(path);
  return (
    <div className="card">
      <h2>{addAccount ? 'Add another PagerDuty account' : 'Connect PagerDuty'}</h2>
      <form className="form" onSubmit={check} aria-label="PagerDuty API key">
        {addAccount ? (
          <Field label="Account name" hint={'How people will tell this account apart, for example "EU"; shown on its catalog entries.'} error={field('name')}>
            {(p) => <input {...p} name="account_name" required value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
        ) : null}
        <Field label="Service region" hint="The region your PagerDuty account lives in.">
          {(p) => (
            <select {...p} name="region" value={region} onChange={(e) => setRegion(e.target.value as 'us' | 'eu')}>
              <option value="us">US (api.pagerduty.com)</option>
              <option value="eu">EU (api.eu.pagerduty.com)</option>
            </select>
          )}
        </Field>
        <Field label="API base URL (optional)" hint="Only to use a PagerDuty emulator or proxy instead of the region's host." error={field('base_url')}>
          {(p) => <input {...p} name="base_url" type="url" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder="https://api.pagerduty.com" />}
        </Field>
        <Field
          label="API key"
          hint={
            <>
              In PagerDuty, go to Integrations → API Access Keys → Create New API Key. Firebreak needs write access: leave "Read-only API Key" unchecked. The key is stored encrypted and never shown again.
            </>
          }
          error={field('api_key')}
        >
          {(p) => <input {...p} name="api_key" type="password" autoComplete="off" required value={apiKey} onChange={(e) => setApiKey(e.target.value)} />}
        </Field>
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={checking.busy || !apiKey.trim()}>
            {checking.busy ? 'Checking the key…' : 'Check key'}
          </button>
        </div>
      </form>
      {error ? <ErrorMessage error={error} /> : null}
      {users ? (
        <form className="form" onSubmit={connect} aria-label="Bot account">
          <h3>Choose the bot account</h3>
          <BotExplanation />
          <Field label="Search users">{(p) => <input {...p} name="bot_search" type="search" value={query} onChange={(e) => void search(e.target.value)} placeholder="Name or email" />}</Field>
          <fieldset className="choice-list">
            <legend>PagerDuty users</legend>
            {users.length === 0 ? <p className="muted">No user matches.</p> : null}
            {users.map((u) => (
              <label key={u.id} className="choice">
                <input type="radio" name="bot_user" value={u.id} checked={bot === u.id} onChange={() => choose(u)} /> {u.name} <span className="muted">{u.email}</span>{' '}
                <span className={`badge${u.role && READ_ONLY.has(u.role) ? ' badge-triage' : ''}`}>{roleLabel(u.role)}</span>
              </label>
            ))}
          </fieldset>
          <RoleWarning user={chosen} />
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={!bot || connecting.busy || (!!addAccount && !name.trim())}>
              {connecting.busy ? 'Connecting…' : addAccount ? 'Add account' : 'Connect PagerDuty'}
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}

function Connected({ status, reload }: { status: PagerDutyStatus; reload: () => void }) {
  const session = useSession();
  const isAdmin = session.user.role === 'admin' || session.user.role === 'owner';
  const runs = useLoad(() => pdApi.runs('pagerduty', 10), []);
  const [current, setCurrent] = useState(status.last_run ?? null);
  const { error, run } = useSubmit();
  const [confirming, setConfirming] = useState(false);
  const [changingBot, setChangingBot] = useState(false);
  // A sync started or moved on anywhere (the hourly tick, another admin): show the newest run and its progress.
  useLive(['catalog_sync'], null, () => {
    runs.refresh();
    void pdApi.runs('pagerduty', 1).then((r) => setCurrent((c) => (r.sync_runs[0] && r.sync_runs[0].id !== c?.id ? r.sync_runs[0] : c)), () => {});
  });

  const syncNow = (force = false) => run(async () => setCurrent((await pdApi.syncNow(force)).run));
  const disconnect = () =>
    run(async () => {
      await pdApi.disconnect();
      reload();
    });

  return (
    <>
      <div className="card">
        <h2>Connection</h2>
        <dl className="facts">
          <dt>Region</dt>
          <dd>{status.region === 'eu' ? 'EU' : 'US'}{status.base_url ? ` (${status.base_url})` : ''}</dd>
          <dt>API key</dt>
          <dd className="mono">{status.api_key}</dd>
          <dt>Bot account</dt>
          <dd>
            {status.bot_user?.name} <span className="muted">{status.bot_user?.email}</span>
            {status.bot_user?.role ? <> <span className="badge">{roleLabel(status.bot_user.role)}</span></> : null}
          </dd>
          <dt>Connected</dt>
          <dd>
            <DateTime value={status.connected_at} />
          </dd>
        </dl>
        {isAdmin ? (
          <div className="form-actions">
            <button type="button" className="button-primary" onClick={() => void syncNow()}>
              Sync now
            </button>
            <button type="button" onClick={() => setChangingBot((v) => !v)}>
              Change bot account
            </button>
            {confirming ? (
              <span className="confirm">
                Disconnect? The key is deleted and syncing stops; synced catalog entries are kept.{' '}
                <button type="button" className="button-small button-danger" onClick={() => void disconnect()}>
                  Disconnect
                </button>{' '}
                <button type="button" className="button-small button-quiet" onClick={() => setConfirming(false)}>
                  Keep connected
                </button>
              </span>
            ) : (
              <button type="button" className="button-danger" onClick={() => setConfirming(true)}>
                Disconnect
              </button>
            )}
          </div>
        ) : null}
        {error ? <ErrorMessage error={error} /> : null}
        {changingBot ? <ChangeBot onDone={() => { setChangingBot(false); reload(); }} /> : null}
      </div>
      <div className="card">
        <h2>Catalog sync</h2>
        <p className="muted small">
          Users, teams, services and escalation policies sync hourly, priorities daily. Services with "incident-io-ignore" in their description and escalation policies tagged "incident-io-ignore" are left out. See the synced entries in the <Link to="/catalog">catalog</Link>.
        </p>
        {current ? (
          <FollowedRun key={current.id} run={current} onDone={() => runs.reload()} />
        ) : (
          <p className="muted">No sync has run yet.</p>
        )}
        {current?.status === 'stopped' && isAdmin ? (
          <button type="button" className="button-danger" onClick={() => void syncNow(true)}>
            Apply anyway (force)
          </button>
        ) : null}
      </div>
      <div className="card">
        <h2>Recent syncs</h2>
        {runs.error ? <ErrorMessage error={runs.error} /> : null}
        {(runs.data?.sync_runs ?? []).filter((r) => r.id !== current?.id).map((r) => (
          <details key={r.id}>
            <summary>
              <DateTime value={r.created_at} /> — {r.status} ({r.trigger})
            </summary>
            <SyncRunView run={r} />
          </details>
        ))}
      </div>
      <AccountsCard isAdmin={isAdmin} />
      <EscalationSettings admin={isAdmin} />
      <AutoCreateRulesCard isAdmin={isAdmin} />
      <AutoCreateSettingsCard isAdmin={isAdmin} />
      <StatusUpdatesCard isAdmin={isAdmin} />
      <AllResolvedCard isAdmin={isAdmin} />
    </>
  );
}

function ChangeBot({ onDone }: { onDone: () => void }) {
  const [query, setQuery] = useState('');
  const users = useLoad(() => pdApi.users(query), [query]);
  const [error, setError] = useState<unknown>(null);
  // A read-only, observer or restricted user is warned about before it is chosen.
  const [confirming, setConfirming] = useState<PdUser | null>(null);
  // A failed choice stays on screen until another one fails or succeeds.
  const choose = (u: PdUser) => {
    if (u.role && READ_ONLY.has(u.role) && confirming?.id !== u.id) return setConfirming(u);
    setConfirming(null);
    pdApi.update({ bot_user_id: u.id }).then(onDone, setError);
  };
  return (
    <div className="form">
      <h3>Choose another bot account</h3>
      <BotExplanation />
      <Field label="Search users">{(p) => <input {...p} type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Name or email" />}</Field>
      {error ? <ErrorMessage error={error} /> : null}
      {confirming ? (
        <div>
          <RoleWarning user={confirming} />
          <button type="button" className="button-small button-danger" onClick={() => choose(confirming)}>Try {confirming.name} anyway</button>{' '}
          <button type="button" className="button-small button-quiet" onClick={() => setConfirming(null)}>Choose someone else</button>
        </div>
      ) : null}
      <ul>
        {(users.data?.users ?? []).map((u) => (
          <li key={u.id}>
            <button type="button" className="button-small" onClick={() => choose(u)}>
              Use {u.name}
            </button>{' '}
            <span className="muted">{u.email}</span> <span className={`badge${u.role && READ_ONLY.has(u.role) ? ' badge-triage' : ''}`}>{roleLabel(u.role)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Several PagerDuty accounts (docs/pagerduty-accounts.md): each account with its region, masked key, bot, last sync
 * and webhook; an admin adds another (the same steps as connecting) or disconnects one, leaving the others alone.
 */
function AccountsCard({ isAdmin }: { isAdmin: boolean }) {
  const accounts = useLoad(() => pdApi.accounts(), []);
  const { error, run } = useSubmit();
  const [adding, setAdding] = useState(false);
  const [confirming, setConfirming] = useState<string | null>(null);
  useLive(['catalog_sync'], null, () => accounts.refresh());
  const disconnect = (a: PdAccount) =>
    run(async () => {
      await pdApi.disconnectAccount(a.id);
      setConfirming(null);
      accounts.reload();
    });
  const list = accounts.data?.accounts ?? [];
  return (
    <>
      <div className="card">
        <h2>PagerDuty accounts</h2>
        <p className="muted small">Escalations page each policy or person in the account it belongs to; catalog entries show their account.</p>
        {accounts.error ? <ErrorMessage error={accounts.error} /> : null}
        <table className="table" aria-label="PagerDuty accounts">
          <thead>
            <tr>
              <th>Account</th>
              <th>Region</th>
              <th>API key</th>
              <th>Bot account</th>
              <th>Last sync</th>
              <th>Webhooks</th>
              {isAdmin ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id}>
                <td>
                  {a.name}
                  {a.first ? <span className="muted"> (first account)</span> : null}
                </td>
                <td>{a.region === 'eu' ? 'EU' : 'US'}</td>
                <td className="mono">{a.api_key}</td>
                <td>
                  {a.bot_user.name} <span className="muted">{a.bot_user.email}</span>
                </td>
                <td>{a.last_run ? <>{a.last_run.status} <DateTime value={a.last_run.finished_at ?? a.last_run.created_at} /></> : 'not yet'}</td>
                <td>{a.webhook.secret_configured ? 'receiving' : a.webhook.error ? a.webhook.error : 'not set up'}</td>
                {isAdmin ? (
                  <td>
                    {a.first ? null : confirming === a.id ? (
                      <span className="confirm">
                        Disconnect {a.name}? Its key goes and its sync stops; its entries and the other accounts stay.{' '}
                        <button type="button" className="button-small button-danger" onClick={() => void disconnect(a)}>
                          Disconnect {a.name}
                        </button>{' '}
                        <button type="button" className="button-small button-quiet" onClick={() => setConfirming(null)}>
                          Keep
                        </button>
                      </span>
                    ) : (
                      <button type="button" className="button-small button-danger" onClick={() => setConfirming(a.id)}>
                        Disconnect
                      </button>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
        {error ? <ErrorMessage error={error} /> : null}
        {isAdmin && !adding ? (
          <div className="form-actions">
            <button type="button" onClick={() => setAdding(true)}>
              Add another account
            </button>
          </div>
        ) : null}
      </div>
      {isAdmin && adding ? (
        <ConnectForm
          onConnected={() => {}}
          addAccount={async (name, k, bot) => {
            await pdApi.addAccount(name, k, bot);
            setAdding(false);
            accounts.reload();
          }}
        />
      ) : null}
    </>
  );
}
