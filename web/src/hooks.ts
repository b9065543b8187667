// Hooks the pages share: loading what a page shows, sending what a form or button asks for, the tab's title.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** Loads again quietly: what is shown stays until the new data arrives (live updates); a failure keeps it. */
  refresh: () => void;
  setData: (update: T | ((prev: T | undefined) => T)) => void;
}

/** Runs `load` when `deps` change (and on reload()); a late answer for old deps is ignored. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setDataState] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const quietRef = useRef(false);

  useEffect(() => {
    let live = true;
    const quiet = quietRef.current;
    quietRef.current = false;
    if (!quiet) {
      setLoading(true);
      setError(null);
    }
    loadRef.current().then(
      (d) => {
        if (!live) return;
        setDataState(d);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        if (!quiet) setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const refresh = useCallback(() => {
    quietRef.current = true;
    setTick((t) => t + 1);
  }, []);
  const setData = useCallback((update: T | ((prev: T | undefined) => T)) => {
    setDataState((prev) => (typeof update === 'function' ? (update as (p: T | undefined) => T)(prev) : update));
  }, []);
  return { data, error, loading, reload, refresh, setData };
}

export interface Submit {
  /** A request is running: disable the button that started it. */
  busy: boolean;
  /** What the last request failed with (null while one runs and after one succeeds). */
  error: unknown;
  setError: (error: unknown) => void;
  /** The server's message for one input of the last failed request ("name", or a nested path like "scopes.0"). */
  field: (path: string) => string | undefined;
  /** Runs `work` (busy meanwhile, the error cleared first and kept if it fails); resolves true when it succeeded. */
  run: (work: () => Promise<unknown>) => Promise<boolean>;
  /** A form's onSubmit that stops the browser's own submit and runs `work`. */
  onSubmit: (work: () => Promise<unknown>) => (e: FormEvent) => void;
}

/** The state of a form or button that sends one request at a time. */
export function useSubmit(): Submit {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const onSubmit = useCallback(
    (work: () => Promise<unknown>) => (e: FormEvent) => {
      e.preventDefault();
      void run(work);
    },
    [run],
  );
  const field = (path: string) => (error instanceof ApiError ? error.field(path) : undefined);
  return { busy, error, setError, field, run, onSubmit };
}

/** Sets document.title for the page ("INC-3 · Firebreak"). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Firebreak` : 'Firebreak';
  }, [title]);
}
