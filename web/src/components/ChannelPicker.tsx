// Slack channels by name. ChannelPicker searches the workspace's public channels as you type
// (GET /api/v1/integrations/slack/channels?search=…, 200 ms after the last key, answers for an older text dropped)
// and keeps the chosen channel's id for the form, showing "#name". While Slack is not connected yet (the first
// connection), it cannot search: the text typed is taken as the channel id, as before. ChannelName shows a stored
// channel id as "#name".
import { useEffect, useId, useRef, useState } from 'react';
import { call } from '../api.js';

interface Channel {
  id: string;
  name: string;
  is_member: boolean;
}

const CHANNEL_ID = /^[CG][A-Z0-9]{6,}$/;

async function searchChannels(search: string, limit = 20): Promise<{ connected: boolean; channels: Channel[] }> {
  return call('get', '/api/v1/integrations/slack/channels', { query: { search: search || undefined, limit } });
}

/** The name of a channel id ("#inc-2-checkout"), or the id while unknown. */
export function useChannelName(id: string | null): string | null {
  const [name, setName] = useState<string | null>(null);
  useEffect(() => {
    setName(null);
    if (!id) return;
    let live = true;
    searchChannels(id, 5)
      .then((r) => {
        const hit = r.channels.find((c) => c.id === id);
        if (live && hit) setName(hit.name);
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [id]);
  return name;
}

export function ChannelName({ id }: { id: string | null }) {
  const name = useChannelName(id);
  if (!id) return <span className="muted">none</span>;
  return name ? <span title={id}>#{name}</span> : <span className="mono">{id}</span>;
}

export function ChannelPicker({ label, value, onChange, error, hint }: { label: string; value: string; onChange: (id: string) => void; error?: string | undefined; hint?: string }) {
  const id = useId();
  const listId = `${id}-list`;
  const hintId = `${id}-hint`;
  const current = useChannelName(value || null);
  const [text, setText] = useState('');
  const [typing, setTyping] = useState(false);
  const [found, setFound] = useState<Channel[] | null>(null);
  const [connected, setConnected] = useState(true);
  const [failed, setFailed] = useState<string | null>(null);
  const [picked, setPicked] = useState<Channel | null>(null);
  const seq = useRef(0);

  useEffect(() => {
    if (!typing) return;
    const n = ++seq.current;
    const t = setTimeout(() => {
      searchChannels(text.trim())
        .then((r) => {
          if (n !== seq.current) return;
          setConnected(r.connected);
          setFound(r.channels);
          setFailed(null);
          if (!r.connected) onChange(text.trim());
        })
        .catch((e: unknown) => {
          if (n === seq.current) setFailed(e instanceof Error ? e.message : String(e));
        });
    }, 200);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text, typing]);

  const name = picked?.id === value ? picked.name : current;
  const shown = typing ? text : value ? (name ? `#${name}` : value) : '';
  const choose = (c: Channel) => {
    setPicked(c);
    onChange(c.id);
    setTyping(false);
    setFound(null);
    setText('');
  };

  return (
    <div className={`field picker${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        <input
          id={id}
          type="search"
          role="combobox"
          aria-expanded={typing && !!found?.length}
          aria-controls={listId}
          aria-describedby={hintId}
          aria-invalid={error ? true : undefined}
          autoComplete="off"
          placeholder="Search channels by name"
          value={shown}
          onFocus={() => {
            if (!typing) {
              setText('');
              setTyping(true);
            }
          }}
          onChange={(e) => {
            setTyping(true);
            setText(e.target.value);
            // A channel id typed or pasted counts at once (it is what the form sends); a name waits for a pick.
            if (CHANNEL_ID.test(e.target.value.trim()) || !connected) onChange(e.target.value.trim());
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              setTyping(false);
              setFound(null);
            }
          }}
        />
        {value ? (
          <button type="button" className="button-quiet" onClick={() => { onChange(''); setTyping(false); setFound(null); }}>
            Clear
          </button>
        ) : null}
      </div>
      <span id={hintId} className="hint">
        {connected
          ? (hint ?? 'New incidents are announced in this channel. Type part of its name.')
          : 'Slack is not connected yet, so channels cannot be searched: type the channel ID (e.g. C0123ABCD), or connect first and pick it by name afterwards.'}
      </span>
      {failed ? <span className="field-error">Could not search Slack channels: {failed}</span> : null}
      {error ? <span className="field-error">{error}</span> : null}
      <ul id={listId} role="listbox" aria-label="Channels found" className="picker-list" hidden={!(typing && connected && found)}>
        {(found ?? []).map((c) => (
          <li
            key={c.id}
            role="option"
            aria-selected={c.id === value}
            className="picker-option"
            tabIndex={-1}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => choose(c)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') choose(c);
            }}
          >
            #{c.name}
          </li>
        ))}
        {found && found.length === 0 ? <li className="picker-note muted">No channel matches “{text.trim()}”.</li> : null}
      </ul>
    </div>
  );
}
