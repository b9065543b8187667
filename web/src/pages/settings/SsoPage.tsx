// Settings → Single sign-on: the OpenID Connect provider (issuer, client id, client secret: written here, never
// shown again), what new people get (default role, roles from a groups claim) and whether everyone but owners
// must sign in through it. Admins and owners only; the server checks the provider before saving.
import { useState } from 'react';
import { call } from '../../api.js';
import type { Ok } from '../../api/operations.js';
import { CopyField, ErrorMessage, Field } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import { useLoad, useSubmit } from '../../hooks.js';

type Sso = Ok<'/api/v1/sso', 'get'>;
type SsoRole = Sso['default_role'];
const ROLES: SsoRole[] = ['viewer', 'responder', 'admin'];

export function SsoPage() {
  const state = useLoad(() => call('get', '/api/v1/sso'), []);
  return (
    <SettingsPage title="Single sign-on" lead="People sign in through your identity provider (OpenID Connect: Okta, Entra ID, Google, Keycloak, Sign in with Slack…).">
      <LoadGate state={state} loading="Loading single sign-on…" failed="Could not load single sign-on.">
        {(sso) => <SsoForm sso={sso} onSaved={state.setData} />}
      </LoadGate>
    </SettingsPage>
  );
}

/** "group: role" per line, the way a person types the mapping. */
function mappingText(rows: Sso['group_roles']): string {
  return rows.map((r) => `${r.group}: ${r.role}`).join('\n');
}

function parseMapping(text: string): Sso['group_roles'] | string {
  const rows: Sso['group_roles'] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const at = line.lastIndexOf(':');
    const group = line.slice(0, at).trim();
    const role = line.slice(at + 1).trim() as SsoRole;
    if (at < 0 || !group || !ROLES.includes(role)) return `Line ${i + 1}: write "group: role", the role one of ${ROLES.join(', ')}.`;
    rows.push({ group, role });
  }
  return rows;
}

function SsoForm({ sso, onSaved }: { sso: Sso; onSaved: (s: Sso) => void }) {
  const fromEnv = sso.source === 'environment';
  const [issuer, setIssuer] = useState(sso.issuer ?? '');
  const [clientId, setClientId] = useState(sso.client_id ?? '');
  const [secret, setSecret] = useState('');
  const [name, setName] = useState(sso.provider_name);
  const [defaultRole, setDefaultRole] = useState<SsoRole>(sso.default_role);
  const [groupsClaim, setGroupsClaim] = useState(sso.groups_claim ?? '');
  const [mapping, setMapping] = useState(mappingText(sso.group_roles));
  const [requireSso, setRequireSso] = useState(sso.require_sso);
  const [saved, setSaved] = useState(false);
  const { busy, error, setError, field, onSubmit } = useSubmit();
  const submit = onSubmit(async () => {
    setSaved(false);
    const groupRoles = parseMapping(mapping);
    if (typeof groupRoles === 'string') throw new Error(groupRoles);
    const next = await call('put', '/api/v1/sso', {
      body: {
        ...(fromEnv ? {} : { issuer: issuer.trim(), client_id: clientId.trim() }),
        ...(secret.trim() ? { client_secret: secret.trim() } : {}),
        provider_name: name.trim(),
        default_role: defaultRole,
        groups_claim: groupsClaim.trim() || null,
        group_roles: groupRoles,
        require_sso: requireSso,
      },
    });
    onSaved(next);
    setSecret('');
    setSaved(true);
  });
  const off = onSubmit(async () => {
    await call('delete', '/api/v1/sso');
    onSaved(await call('get', '/api/v1/sso'));
  });
  return (
    <>
      <form className="card" onSubmit={submit} noValidate>
        <h2>Provider</h2>
        <p className={sso.enabled ? '' : 'muted'}>{sso.enabled ? `Single sign-on is on: the sign-in page offers "Sign in with ${sso.provider_name}".` : 'Single sign-on is off.'}</p>
        <CopyField label="Redirect URI to register with the provider" value={sso.redirect_uri} />
        {fromEnv ? <p className="muted">Issuer, client id and secret come from the environment (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET).</p> : null}
        <Field label="Issuer URL" hint="e.g. https://accounts.google.com or https://your-org.okta.com" error={field('issuer')}>
          {(p) => <input {...p} value={issuer} disabled={fromEnv} onChange={(e) => setIssuer(e.target.value)} />}
        </Field>
        <Field label="Client id" error={field('client_id')}>
          {(p) => <input {...p} value={clientId} disabled={fromEnv} onChange={(e) => setClientId(e.target.value)} />}
        </Field>
        {fromEnv ? null : (
          <Field label="Client secret" hint={sso.client_secret_set ? 'A secret is stored (encrypted). Leave empty to keep it.' : 'Stored encrypted; never shown again.'} error={field('client_secret')}>
            {(p) => <input {...p} type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} />}
          </Field>
        )}
        <Field label="Provider name" hint='Shown on the sign-in button: "Sign in with …"' error={field('provider_name')}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <h2>People</h2>
        <Field label="Role of people signing in for the first time" hint="People are matched to existing ones by verified email." error={field('default_role')}>
          {(p) => (
            <select {...p} value={defaultRole} onChange={(e) => setDefaultRole(e.target.value as SsoRole)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Groups claim" hint="The ID token or userinfo claim listing the person's groups, e.g. groups. Leave empty for no mapping." error={field('groups_claim')}>
          {(p) => <input {...p} value={groupsClaim} onChange={(e) => setGroupsClaim(e.target.value)} />}
        </Field>
        <Field label="Roles from groups" hint="One per line: group: role (viewer, responder or admin; the highest match wins; owners are never changed)." error={field('group_roles')}>
          {(p) => <textarea {...p} rows={4} value={mapping} onChange={(e) => setMapping(e.target.value)} />}
        </Field>
        <label className="choice">
          <input type="checkbox" checked={requireSso} onChange={(e) => setRequireSso(e.target.checked)} /> Require single sign-on for everyone but owners (owners keep sign-in links as the way in when the provider is down)
        </label>
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Checking the provider…' : 'Save'}
          </button>
          {saved ? <span role="status">Saved.</span> : null}
        </div>
        <ErrorMessage error={error} />
      </form>
      {sso.source === 'settings' ? (
        <form className="card" onSubmit={off}>
          <h2>Turn off</h2>
          <p>People then sign in with links only. The stored client secret is deleted.</p>
          <button type="submit" className="button-danger" onClick={() => setError(null)}>
            Turn off single sign-on
          </button>
        </form>
      ) : null}
    </>
  );
}
