// API keys for scripts and other systems. A new key's token is shown once; Firebreak keeps only a hash.
import { useState } from 'react';
import { api } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { isAdmin, useSession } from '../../session.js';
import { CopyField, DateTime, Empty, ErrorMessage, Field } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import { SCOPES, type ApiKey, type Scope } from '../../types.js';

const SCOPE_HINTS: Record<Scope, string> = {
  read: 'Read incidents, timelines and settings.',
  write: 'Declare and update incidents.',
  admin: 'Change settings, users and keys.',
};

/** Active keys first, then revoked ones; newest first within each. */
const activeFirstNewestFirst = (a: ApiKey, b: ApiKey) => Number(a.revoked_at !== null) - Number(b.revoked_at !== null) || b.created_at.localeCompare(a.created_at);

export function ApiKeysPage() {
  const session = useSession();
  const admin = isAdmin(session.user.role);
  const list = useLoad(() => api.apiKeys().then((all) => [...all].sort(activeFirstNewestFirst)), []);

  return (
    <SettingsPage
      title="API keys"
      lead={
        <>
          Keys let scripts and other systems use the Firebreak REST API. Send one as <code>Authorization: Bearer &lt;token&gt;</code>.
        </>
      }
    >
      {!admin && !list.error ? <p className="notice">Only owners and admins can create or revoke keys.</p> : null}
      {admin ? (
        <p className="hint">
          A key never does more than the person who created it can do today: if they lose the admin role, their admin keys work as write keys; keys
          never act for owners.
        </p>
      ) : null}
      {admin ? <CreateKey onCreated={list.reload} /> : null}
      <LoadGate state={list} loading="Loading API keys…" failed="Could not load API keys." empty={<Empty title="No API keys yet." />}>
        {(keys) => (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key starts with</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <KeyRow key={k.id} apiKey={k} admin={admin} onRevoked={list.reload} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </LoadGate>
    </SettingsPage>
  );
}

function KeyRow({ apiKey, admin, onRevoked }: { apiKey: ApiKey; admin: boolean; onRevoked: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const { busy, error, setError, run } = useSubmit();
  const revoke = () =>
    run(async () => {
      await api.revokeApiKey(apiKey.id);
      setConfirming(false);
      onRevoked();
    });
  return (
    <tr className={apiKey.revoked_at ? 'row-revoked' : undefined}>
      <td>
        <strong>{apiKey.name}</strong>
        <div className="muted small">by {apiKey.created_by.name}</div>
      </td>
      <td className="mono">{apiKey.prefix}…</td>
      <td>
        {apiKey.scopes.map((s) => (
          <span key={s} className="badge badge-scope">
            {s}
          </span>
        ))}
      </td>
      <td className="nowrap">
        <DateTime value={apiKey.created_at} />
      </td>
      <td className="nowrap">{apiKey.last_used_at ? <DateTime value={apiKey.last_used_at} /> : <span className="muted">Never</span>}</td>
      <td>
        {apiKey.revoked_at ? (
          <span className="muted">
            Revoked <DateTime value={apiKey.revoked_at} />
          </span>
        ) : !admin ? (
          'Active'
        ) : confirming ? (
          <span className="confirm">
            <button type="button" className="button-small button-danger" disabled={busy} onClick={() => void revoke()}>
              {busy ? 'Revoking…' : `Revoke ${apiKey.name}`}
            </button>
            <button type="button" className="button-small button-quiet" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="button-small button-quiet" onClick={() => (setError(null), setConfirming(true))}>
            Revoke…
          </button>
        )}
        <ErrorMessage error={error} />
      </td>
    </tr>
  );
}

function CreateKey({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['read']);
  const { busy, error, field, onSubmit } = useSubmit();
  const [created, setCreated] = useState<{ api_key: ApiKey; token: string } | null>(null);

  const toggle = (s: Scope, on: boolean) => setScopes((cur) => (on ? SCOPES.filter((x) => x === s || cur.includes(x)) : cur.filter((x) => x !== s)));
  const submit = onSubmit(async () => {
    setCreated(await api.createApiKey({ name: name.trim(), scopes }));
    setName('');
    setScopes(['read']);
    onCreated();
  });

  return (
    <section className="card" aria-labelledby="create-key">
      <h2 id="create-key">Create a key</h2>
      {created ? (
        <div className="secret" role="status">
          <p className="notice notice-warn">
            <strong>Copy this token now.</strong> It will not be shown again. If you lose it, revoke the key and create a new one.
          </p>
          <CopyField label={`Token for “${created.api_key.name}”`} value={created.token} />
          <button type="button" className="button-small" onClick={() => setCreated(null)}>
            I have copied it
          </button>
        </div>
      ) : (
        <form className="form" onSubmit={submit}>
          <Field label="Name" hint="What uses this key, e.g. “Deploy pipeline”." error={field('name')}>
            {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
          </Field>
          <fieldset className="field">
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label key={s} className="choice">
                <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => toggle(s, e.target.checked)} />
                <span>
                  <strong>{s}</strong> <span className="muted">{SCOPE_HINTS[s]}</span>
                </span>
              </label>
            ))}
            {field('scopes') ? <span className="field-error">{field('scopes')}</span> : null}
          </fieldset>
          <ErrorMessage error={error} title="No key was created." />
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={busy || scopes.length === 0}>
              {busy ? 'Creating…' : 'Create key'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
