// Search-as-you-type choice of catalog entries of one type, one or several. Typing searches the catalog (name,
// alias or external id) and lists entries by name; the chosen ones show as chips that can be removed. A combobox
// with a listbox: arrow keys move, Enter picks, Escape closes, Backspace in the empty box removes the last chip.
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { fieldsApi, type CatalogEntrySummary } from './custom-fields/api.js';
import { errorText } from './ui.js';

export interface PickedEntry {
  id: string;
  name: string;
  archived?: boolean;
  /** Its id in the source (the PagerDuty id), when picked from a search. */
  externalId?: string | null;
}

export interface CatalogEntryPickerProps {
  /** The catalog type's id (or type name) whose entries are offered. */
  typeId: string;
  multiple: boolean;
  value: PickedEntry[];
  onChange: (next: PickedEntry[]) => void;
  /** The input's id, so a <label htmlFor> names it. */
  id?: string;
  'aria-describedby'?: string | undefined;
  'aria-invalid'?: boolean | undefined;
  disabled?: boolean;
  placeholder?: string;
}

export function CatalogEntryPicker({ typeId, multiple, value, onChange, id, disabled, placeholder, ...aria }: CatalogEntryPickerProps) {
  const ownId = useId();
  const inputId = id ?? `${ownId}-input`;
  const listId = `${ownId}-list`;
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState(false);
  // The last answer and the text it answers: results for an older text are never offered.
  const [results, setResults] = useState<{ query: string; entries: CatalogEntrySummary[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [active, setActive] = useState(0);
  const inputRef = useRef<HTMLInputElement>(null);

  // Search while the list is open: at once for an empty box, 200 ms after the last key otherwise; a late answer
  // for an older query is ignored.
  useEffect(() => {
    if (!open) return;
    let live = true;
    const timer = setTimeout(
      () => {
        fieldsApi.searchEntries(typeId, query).then(
          (entries) => {
            if (!live) return;
            setResults({ query, entries });
            setError(null);
            setActive(0);
          },
          (err: unknown) => {
            if (!live) return;
            setError(err);
          },
        );
      },
      query ? 200 : 0,
    );
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [open, query, typeId]);

  const chosen = new Set(value.map((v) => v.id));
  const current = results !== null && results.query === query;
  const offered = current ? results.entries.filter((e) => !chosen.has(e.id)) : [];

  const pick = (e: CatalogEntrySummary) => {
    const entry = { id: e.id, name: e.name, externalId: e.external_id };
    onChange(multiple ? [...value, entry] : [entry]);
    setQuery('');
    // Closed after each pick, so the list never covers what comes next; typing or ↓ opens it again.
    setOpen(false);
    inputRef.current?.focus();
  };
  const remove = (entryId: string) => {
    onChange(value.filter((v) => v.id !== entryId));
    inputRef.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) setOpen(true);
      else setActive((a) => Math.min(a + 1, Math.max(offered.length - 1, 0)));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === 'Enter') {
      // Enter picks; it never submits the form the picker sits in.
      if (open) {
        e.preventDefault();
        const entry = offered[active];
        if (entry) pick(entry);
      }
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        setOpen(false);
      }
    } else if (e.key === 'Backspace' && query === '' && value.length > 0) {
      const last = value[value.length - 1];
      if (last) remove(last.id);
    }
  };

  const activeId = open && offered[active] ? `${listId}-${offered[active].id}` : undefined;
  return (
    <div className="picker">
      {value.length > 0 ? (
        <ul className="chips" aria-label={multiple ? 'Chosen entries' : 'Chosen entry'}>
          {value.map((v) => (
            <li key={v.id} className="chip">
              <span>{v.name}</span>
              {v.archived ? <span className="muted small"> (archived)</span> : null}
              <button type="button" className="chip-remove" aria-label={`Remove ${v.name}`} disabled={disabled} onClick={() => remove(v.id)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <input
        ref={inputRef}
        id={inputId}
        type="text"
        role="combobox"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={listId}
        aria-activedescendant={activeId}
        aria-describedby={aria['aria-describedby']}
        aria-invalid={aria['aria-invalid']}
        disabled={disabled}
        placeholder={placeholder ?? (multiple || value.length === 0 ? 'Type to search…' : 'Type to choose another…')}
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setOpen(true);
        }}
        onClick={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      <ul id={listId} role="listbox" className="picker-list" hidden={!open} aria-label="Catalog entries">
        {!open ? null : error ? (
          <li className="picker-note field-error">{errorText(error)}</li>
        ) : !current ? (
          <li className="picker-note muted">Searching…</li>
        ) : offered.length === 0 ? (
          <li className="picker-note muted">{query ? `No entry matches “${query}”.` : 'No more entries.'}</li>
        ) : (
          offered.map((e, i) => (
            <li
              key={e.id}
              id={`${listId}-${e.id}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'picker-option active' : 'picker-option'}
              // mousedown, not click: the input must not lose focus (and close the list) before the pick.
              onMouseDown={(ev) => {
                ev.preventDefault();
                pick(e);
              }}
              onMouseEnter={() => setActive(i)}
            >
              {e.name}
            </li>
          ))
        )}
      </ul>
    </div>
  );
}

/**
 * The names of entries known only by id (a field's default value, a filter in the URL), fetched once each.
 * Until they arrive, an entry shows as "…"; one that no longer exists keeps its id as its name.
 */
export function useEntryNames(ids: readonly string[]): PickedEntry[] {
  const [names, setNames] = useState<Record<string, PickedEntry>>({});
  const key = ids.join(',');
  useEffect(() => {
    let live = true;
    for (const entryId of ids) {
      if (names[entryId]) continue;
      fieldsApi.entry(entryId).then(
        (e) => live && setNames((n) => ({ ...n, [entryId]: { id: e.id, name: e.name, archived: e.archived_at !== null } })),
        () => live && setNames((n) => ({ ...n, [entryId]: { id: entryId, name: entryId } })),
      );
    }
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return ids.map((i) => names[i] ?? { id: i, name: '…' });
}
