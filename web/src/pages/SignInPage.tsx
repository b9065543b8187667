import { useLoad, useTitle } from '../hooks.js';
import { Link } from '../router.js';
import type { Session } from '../types.js';

/**
 * Firebreak has no passwords: people sign in through the company's identity provider (single sign-on, when set
 * up) or with one-time links. This page offers the first and says how to get the second.
 */
export function SignInPage({ signedIn }: { signedIn: Session | null }) {
  useTitle('Sign in');
  // Outside the API (open before anyone signs in): whether to offer "Sign in with …".
  const sso = useLoad(async () => (await (await fetch('/auth/sso/status')).json()) as { enabled: boolean; provider_name: string | null }, []);
  const provider = sso.data?.enabled ? sso.data.provider_name : null;
  return (
    <main className="page page-narrow signin" id="main">
      <div className="card signin-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Firebreak
        </div>
        {signedIn ? (
          <>
            <h1>You are signed in</h1>
            <p>
              Signed in as <strong>{signedIn.user.name}</strong> ({signedIn.user.email}).
            </p>
            <p>
              <Link to="/" className="button button-primary">
                Go to incidents
              </Link>
            </p>
          </>
        ) : (
          <>
            <h1>Sign in to Firebreak</h1>
            {provider ? (
              <>
                <p>
                  {/* A full page load: the server sends the browser on to the identity provider. */}
                  <a href="/auth/sso/start" className="button button-primary">
                    Sign in with {provider}
                  </a>
                </p>
                <p className="muted">Or use a one-time sign-in link, if you have one:</p>
              </>
            ) : (
              <p>Firebreak signs you in with a one-time link instead of a password. To get one:</p>
            )}
            <ul className="steps">
              <li>
                Ask an admin for a sign-in link (<strong>Settings → Users</strong>).
              </li>
              <li>
                Or, on the server, run <code>npm run firebreak -- login-link you@example.com</code>.
              </li>
            </ul>
            <p className="muted">
              The first sign-in link is printed when Firebreak starts on an empty database. Each link works once and
              expires after a while; open it in this browser to sign in.
            </p>
          </>
        )}
      </div>
    </main>
  );
}
