// The app shell: finds out who is signed in, sends signed-out visitors to /signin, draws the header and
// navigation, and picks the page for the current path.
import { lazy, Suspense, useEffect, useRef, useState, type ReactNode } from 'react';
import { api, onSignedOut, setCsrfToken } from './api.js';
import { Link, matchPath, navigate, useLocation } from './router.js';
import { SessionContext } from './session.js';
import { LiveIndicator, LiveProvider } from './live.js';
import { ErrorMessage, Loading } from './components/ui.js';
import type { Session } from './types.js';
import { IncidentsPage } from './pages/IncidentsPage.js';
import { FollowUpsPage } from './pages/FollowUpsPage.js';
import { IncidentPage } from './pages/IncidentPage.js';
import { DeclarePage } from './pages/DeclarePage.js';
import { SignInPage } from './pages/SignInPage.js';
import { NotFoundPage } from './pages/NotFoundPage.js';
import { SettingsLayout } from './pages/settings/SettingsLayout.js';
import { SeveritiesPage } from './pages/settings/SeveritiesPage.js';
import { CustomFieldsPage } from './pages/settings/CustomFieldsPage.js';
import { RolesPage } from './pages/settings/RolesPage.js';
import { UsersPage } from './pages/settings/UsersPage.js';
import { ApiKeysPage } from './pages/settings/ApiKeysPage.js';
import { IntegrationsPage } from './pages/settings/IntegrationsPage.js';
import { PagerDutyPage } from './pages/settings/PagerDutyPage.js';
import { SlackPage } from './pages/settings/SlackPage.js';
import { ExpressionsPage } from './pages/settings/ExpressionsPage.js';
import { SsoPage } from './pages/settings/SsoPage.js';
import { UpdateRemindersPage } from './pages/settings/UpdateRemindersPage.js';
import { CatalogHomePage } from './pages/catalog/CatalogHomePage.js';
import { CatalogTypePage } from './pages/catalog/CatalogTypePage.js';
import { CatalogEntryPage } from './pages/catalog/CatalogEntryPage.js';
import { WorkflowsPage } from './pages/workflows/WorkflowsPage.js';
import { WorkflowEditorPage } from './pages/workflows/WorkflowEditorPage.js';
import { WriteUpPage } from './pages/incident/WriteUpPage.js';
import { WriteUpTemplatePage } from './pages/settings/WriteUpTemplatePage.js';
// Insights carries the charting library: loaded when first opened, so other pages do not download it.
const InsightsPage = lazy(() => import('./pages/InsightsPage.js').then((m) => ({ default: m.InsightsPage })));

type SessionState = { kind: 'loading' } | { kind: 'error'; error: unknown } | { kind: 'signed-out' } | { kind: 'signed-in'; session: Session };

export function App() {
  const location = useLocation();
  const [state, setState] = useState<SessionState>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const [signOutError, setSignOutError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    api.session().then(
      (session) => {
        if (!live) return;
        setCsrfToken(session?.csrf_token ?? null);
        setState(session ? { kind: 'signed-in', session } : { kind: 'signed-out' });
      },
      (error: unknown) => live && setState({ kind: 'error', error }),
    );
    return () => {
      live = false;
    };
  }, [attempt]);

  useEffect(
    () =>
      onSignedOut(() => {
        setCsrfToken(null);
        setState({ kind: 'signed-out' });
      }),
    [],
  );

  const onSignIn = location.pathname === '/signin';
  useEffect(() => {
    if (state.kind === 'signed-out' && !onSignIn) navigate('/signin', { replace: true });
  }, [state.kind, onSignIn]);

  if (state.kind === 'loading') {
    return (
      <main className="page page-narrow" id="main">
        <Loading label="Checking who is signed in…" />
      </main>
    );
  }
  if (state.kind === 'error') {
    return (
      <main className="page page-narrow" id="main">
        <h1>Firebreak is not answering</h1>
        <ErrorMessage error={state.error} />
        <button type="button" onClick={() => setAttempt((a) => a + 1)}>
          Try again
        </button>
      </main>
    );
  }
  if (state.kind === 'signed-out' || onSignIn) {
    return <SignInPage signedIn={state.kind === 'signed-in' ? state.session : null} />;
  }

  const session = state.session;
  const signOut = async () => {
    setSignOutError(null);
    try {
      await api.logout();
    } catch (error) {
      setSignOutError(error);
      return;
    }
    setCsrfToken(null);
    setState({ kind: 'signed-out' });
    navigate('/signin', { replace: true });
  };

  return (
    <SessionContext.Provider value={session}>
      <LiveProvider>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/" className="brand" aria-label="Firebreak, incidents">
            <span className="brand-mark" aria-hidden="true" />
            Firebreak
          </Link>
          <nav aria-label="Main" className="mainnav">
            <NavLink to="/" active={location.pathname === '/' || location.pathname.startsWith('/incidents')}>
              Incidents
            </NavLink>
            <NavLink to="/follow-ups" active={location.pathname.startsWith('/follow-ups')}>
              Follow-ups
            </NavLink>
            <NavLink to="/catalog" active={location.pathname.startsWith('/catalog')}>
              Catalog
            </NavLink>
            <NavLink to="/workflows" active={location.pathname.startsWith('/workflows')}>
              Workflows
            </NavLink>
            <NavLink to="/insights" active={location.pathname.startsWith('/insights')}>
              Insights
            </NavLink>
            <NavLink to="/settings/severities" active={location.pathname.startsWith('/settings')}>
              Settings
            </NavLink>
          </nav>
          <div className="topbar-right">
            <LiveIndicator />
            {session.user.role !== 'viewer' ? (
              <Link to="/declare" className="button button-primary">
                Declare incident
              </Link>
            ) : null}
            <span className="whoami" title={`${session.user.email} (${session.user.role})`}>
              {session.user.name} <span className="muted">({session.user.role})</span>
            </span>
            <button type="button" className="button-quiet" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      {signOutError ? (
        <div className="page page-banner">
          <ErrorMessage error={signOutError} title="You are still signed in." />
        </div>
      ) : null}
      <Page pathname={location.pathname} />
      </LiveProvider>
    </SessionContext.Provider>
  );
}

function NavLink({ to, active, children }: { to: string; active: boolean; children: ReactNode }) {
  return (
    <Link to={to} aria-current={active ? 'page' : undefined} className={active ? 'active' : undefined}>
      {children}
    </Link>
  );
}

function Page({ pathname }: { pathname: string }) {
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);
  // Move focus to the new page so keyboard and screen-reader users know the page changed.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.focus({ preventScroll: true });
  }, [pathname]);

  let content: ReactNode;
  let params: Record<string, string> | null;
  if (pathname === '/' || pathname === '/incidents') content = <IncidentsPage />;
  else if ((params = matchPath('/incidents/:ref', pathname))) content = <IncidentPage key={params.ref} idOrRef={params.ref ?? ''} />;
  else if ((params = matchPath('/incidents/:ref/write-up', pathname))) content = <WriteUpPage key={params.ref} idOrRef={params.ref ?? ''} />;
  else if (pathname === '/declare') content = <DeclarePage />;
  else if (pathname === '/follow-ups') content = <FollowUpsPage />;
  else if (pathname === '/settings' || pathname === '/settings/') content = <Redirect to="/settings/severities" />;
  else if (pathname === '/settings/severities') content = <SettingsLayout><SeveritiesPage /></SettingsLayout>;
  else if (pathname === '/settings/custom-fields') content = <SettingsLayout><CustomFieldsPage /></SettingsLayout>;
  else if (pathname === '/settings/roles') content = <SettingsLayout><RolesPage /></SettingsLayout>;
  else if (pathname === '/settings/users') content = <SettingsLayout><UsersPage /></SettingsLayout>;
  else if (pathname === '/settings/api-keys') content = <SettingsLayout><ApiKeysPage /></SettingsLayout>;
  else if (pathname === '/settings/sso') content = <SettingsLayout><SsoPage /></SettingsLayout>;
  else if (pathname === '/settings/integrations') content = <SettingsLayout><IntegrationsPage /></SettingsLayout>;
  else if (pathname === '/settings/integrations/pagerduty') content = <SettingsLayout><PagerDutyPage /></SettingsLayout>;
  else if (pathname === '/settings/integrations/slack') content = <SettingsLayout><SlackPage /></SettingsLayout>;
  else if (pathname === '/settings/expressions') content = <SettingsLayout><ExpressionsPage /></SettingsLayout>;
  else if (pathname === '/settings/update-reminders') content = <SettingsLayout><UpdateRemindersPage /></SettingsLayout>;
  else if (pathname === '/settings/write-up-template') content = <SettingsLayout><WriteUpTemplatePage /></SettingsLayout>;
  else if (pathname === '/workflows') content = <WorkflowsPage />;
  else if (pathname === '/workflows/new') content = <WorkflowEditorPage key="new" idOrKey={null} />;
  else if ((params = matchPath('/workflows/:id', pathname))) content = <WorkflowEditorPage key={params.id} idOrKey={params.id ?? ''} />;
  else if (pathname === '/insights') content = <Suspense fallback={<Loading />}><InsightsPage /></Suspense>;
  else if (pathname === '/catalog') content = <CatalogHomePage />;
  else if ((params = matchPath('/catalog/entries/:id', pathname))) content = <CatalogEntryPage key={params.id} id={params.id ?? ''} />;
  else if ((params = matchPath('/catalog/:type', pathname))) content = <CatalogTypePage key={params.type} typeName={params.type ?? ''} />;
  else content = <NotFoundPage />;

  return (
    <main className="page" id="main" ref={mainRef} tabIndex={-1}>
      {content}
    </main>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}
