// A server-sent events client for tests: reads /api/v1/live over a real HTTP connection and collects the events
// it is sent, as a browser's EventSource would parse them.

export interface SseEvent {
  id: string | null;
  event: string;
  data: { topic: string; incident_id: string | null };
}

export interface SseStream {
  status: number;
  events: SseEvent[];
  /** The last `id:` seen (what EventSource would send back as Last-Event-ID). */
  lastId(): string | null;
  /** Waits until an event matches, at most `ms`. */
  waitFor(match: (e: SseEvent) => boolean, ms?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openLive(baseUrl: string, headers: Record<string, string> = {}): Promise<SseStream & { body: unknown }> {
  const abort = new AbortController();
  const res = await fetch(`${baseUrl}/api/v1/live`, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let last: string | null = null;
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, events, lastId: () => null, waitFor: () => Promise.reject(new Error('not a stream')), ended: Promise.resolve(), close: () => {} };
  }
  const ended = (async () => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: string | null = null;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [field, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (field === 'id') id = value;
            else if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
          }
          if (id !== null) last = id;
          if (data.length === 0) continue;
          events.push({ id, event, data: JSON.parse(data.join('\n')) });
          for (const w of [...waiters]) w();
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return {
    status: res.status,
    body: null,
    events,
    lastId: () => last,
    waitFor(match, ms = 1000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find(match);
          if (!hit) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching live event within ${ms} ms; got ${JSON.stringify(events.map((e) => e.data))}`));
        }, ms);
        if (!check()) waiters.add(check);
      });
    },
    ended,
    close: () => abort.abort(),
  };
}
