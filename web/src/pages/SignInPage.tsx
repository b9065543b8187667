import { useTitle } from '../hooks.js';
import { Link } from '../router.js';
import type { Session } from '../types.js';

/** Firebreak has no passwords: people sign in with one-time links. This page says how to get one. */
export function SignInPage({ signedIn }: { signedIn: Session | null }) {
  useTitle('Sign in');
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
            <p>Firebreak signs you in with a one-time link instead of a password. To get one:</p>
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
