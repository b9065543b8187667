// Live updates: one server-sent events connection (GET /api/v1/live) for the signed-in app. Pages call
// useLive(topics, incidentId, reload) and reload what they show (from the REST API) when a matching change
// arrives; the header shows whether the connection is up ("Live") or being re-made ("Reconnecting…").
// EventSource reconnects by itself and sends the last event id, so nothing is missed while away; when the server
// refused the stream outright (e.g. it was shutting down) a new one is opened that resumes from the same id.
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';

export type LiveTopic = 'incidents' | 'incident' | 'timeline' | 'escalations' | 'pagerduty_links' | 'catalog_sync' | 'settings';
export type LiveState = 'connecting' | 'live' | 'reconnecting';

interface Change {
  topic: LiveTopic;
  incident_id: string | null;
}
type Listener = (change: Change | null) => void; // null: reconnected, reload everything

class LiveConnection {
  private es: EventSource | null = null;
  private last: string | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private everOpen = false;
  private retryMs = 1000;
  readonly listeners = new Set<Listener>();
  readonly stateListeners = new Set<(s: LiveState) => void>();
  state: LiveState = 'connecting';

  open(): void {
    const url = this.last ? `/api/v1/live?last_event_id=${encodeURIComponent(this.last)}` : '/api/v1/live';
    const es = new EventSource(url, { withCredentials: true });
    this.es = es;
    es.addEventListener('open', () => {
      const again = this.everOpen;
      this.everOpen = true;
      this.retryMs = 1000;
      this.setState('live');
      // Back after a gap: changes were resumed from the last id, but reload once anyway in case the server
      // forgot them (kept about an hour) or was restored from a backup.
      if (again) for (const l of this.listeners) l(null);
    });
    es.addEventListener('change', (e) => {
      const m = e as MessageEvent<string>;
      if (m.lastEventId) this.last = m.lastEventId;
      let change: Change;
      try {
        change = JSON.parse(m.data) as Change;
      } catch {
        return;
      }
      for (const l of this.listeners) l(change);
    });
    es.addEventListener('error', () => {
      if (this.closed) return;
      this.setState('reconnecting');
      // CONNECTING: the browser reconnects by itself. CLOSED: the server answered with an error (503 while
      // shutting down, 401 signed out): open a new stream a little later, backing off to 30 s.
      if (es.readyState === EventSource.CLOSED && !this.retry) {
        this.retry = setTimeout(() => {
          this.retry = null;
          if (!this.closed) this.open();
        }, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 30_000);
      }
    });
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.es?.close();
  }

  private setState(s: LiveState): void {
    if (s === this.state) return;
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }
}

const LiveContext = createContext<LiveConnection | null>(null);

/** Opens the connection while mounted (the signed-in app). */
export function LiveProvider({ children }: { children: ReactNode }) {
  const [conn] = useState(() => new LiveConnection());
  useEffect(() => {
    conn.open();
    return () => conn.close();
  }, [conn]);
  return <LiveContext.Provider value={conn}>{children}</LiveContext.Provider>;
}

/** The connection's state, for the header. */
export function useLiveState(): LiveState {
  const conn = useContext(LiveContext);
  const [state, setState] = useState<LiveState>(conn?.state ?? 'connecting');
  useEffect(() => {
    if (!conn) return;
    setState(conn.state);
    conn.stateListeners.add(setState);
    return () => {
      conn.stateListeners.delete(setState);
    };
  }, [conn]);
  return state;
}

/**
 * Calls onChange (at most once per 100 ms burst) when a change to one of `topics` arrives: for `incidentId`'s
 * changes when given (changes without an incident match every page), or any when null. onChange should reload
 * data quietly, keeping what the page shows (scroll, open forms) in place.
 */
export function useLive(topics: LiveTopic[], incidentId: string | null, onChange: () => void): void {
  const conn = useContext(LiveContext);
  const callback = useRef(onChange);
  callback.current = onChange;
  const key = topics.join(',');
  useEffect(() => {
    if (!conn) return;
    const wanted = new Set(key.split(','));
    let timer: ReturnType<typeof setTimeout> | null = null;
    const listener: Listener = (change) => {
      if (change && (!wanted.has(change.topic) || (incidentId && change.incident_id && change.incident_id !== incidentId))) return;
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        callback.current();
      }, 100);
    };
    conn.listeners.add(listener);
    return () => {
      conn.listeners.delete(listener);
      if (timer) clearTimeout(timer);
    };
  }, [conn, key, incidentId]);
}

export function LiveIndicator() {
  const state = useLiveState();
  const text = state === 'live' ? 'Live' : state === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return (
    <span className={`live-state live-${state}`} role="status" title={state === 'live' ? 'This page updates itself when anything changes.' : 'Changes made elsewhere show once the connection is back.'}>
      <span className="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}
