// The signed-in person, shared with every page, and what their role lets them change.
import { createContext, useContext } from 'react';
import type { Role, Session } from './types.js';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession used outside a signed-in page');
  return s;
}

/** Responders and above can run incidents; viewers only look. */
export const canRespond = (role: Role): boolean => role !== 'viewer';
/** Owners and admins manage settings: severities, users, API keys, integrations. */
export const isAdmin = (role: Role): boolean => role === 'owner' || role === 'admin';
