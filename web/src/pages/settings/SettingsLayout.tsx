import type { ReactNode } from 'react';
import { Link, useLocation } from '../../router.js';

const SECTIONS = [
  { to: '/settings/severities', label: 'Severities' },
  { to: '/settings/custom-fields', label: 'Custom fields' },
  { to: '/settings/roles', label: 'Roles' },
  { to: '/settings/users', label: 'Users' },
  { to: '/settings/api-keys', label: 'API keys' },
  { to: '/settings/sso', label: 'Single sign-on' },
  { to: '/settings/integrations', label: 'Integrations' },
  { to: '/settings/expressions', label: 'Expressions' },
  { to: '/settings/update-reminders', label: 'Update reminders' },
  { to: '/settings/write-up-template', label: 'Write-up template' },
];

export function SettingsLayout({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  return (
    <div className="settings">
      <nav aria-label="Settings" className="subnav">
        <p className="subnav-title">Settings</p>
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.to}>
              <Link to={s.to} aria-current={pathname === s.to ? 'page' : undefined} className={pathname === s.to ? 'active' : undefined}>
                {s.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="settings-body">{children}</div>
    </div>
  );
}
