// Small building blocks shared by the pages: messages, loading and empty states, badges, dates, copy.
import { useId, useState, type ReactNode } from 'react';
import { ApiError } from '../api.js';
import type { StatusCategory } from '../types.js';

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}

/** The server's message for a failed request, shown next to what caused it. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const fields = error instanceof ApiError ? error.fields.filter((f) => !f.path) : [];
  return (
    <div className="notice notice-error" role="alert">
      {title ? <strong>{title} </strong> : null}
      {errorText(error)}
      {error instanceof ApiError && error.status === 403 ? ' Ask an owner or admin if you need this.' : null}
      {fields.map((f, i) => (
        <div key={i}>{f.message}</div>
      ))}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-body">{children}</div> : null}
    </div>
  );
}

export function StatusBadge({ name, category }: { name: string; category: StatusCategory }) {
  return <span className={`badge badge-status badge-${category}`}>{name}</span>;
}

/** Severity badge: the highest-ranked severities are the loudest. */
export function SeverityBadge({ name, rank, maxRank }: { name: string; rank: number; maxRank?: number }) {
  const top = maxRank ?? rank;
  const level = top - rank; // 0 = most severe
  const tone = level === 0 ? 'sev-critical' : level === 1 ? 'sev-major' : 'sev-minor';
  return <span className={`badge ${tone}`}>{name}</span>;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function DateTime({ value, timeOnly }: { value: string | null | undefined; timeOnly?: boolean }) {
  if (!value) return <span className="muted">—</span>;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return <span>{value}</span>;
  return (
    <time dateTime={value} title={d.toISOString()}>
      {(timeOnly ? timeFormat : dateFormat).format(d)}
    </time>
  );
}

/** A read-only box holding a secret or link, with a button that copies it. */
export function CopyField({ label, value }: { label: string; value: string }) {
  const id = useId();
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        <input id={id} readOnly value={value} onFocus={(e) => e.currentTarget.select()} className="mono" />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <span className="hint" aria-live="polite">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'Could not copy; select the text and copy it by hand.' : ''}
      </span>
    </div>
  );
}

/** A message for one input, from ApiError.details.fields. */
export function FieldMessage({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <span id={id} className="field-error">
      {message}
    </span>
  );
}

export function titleCase(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export interface FieldControlProps {
  id: string;
  'aria-invalid': boolean | undefined;
  'aria-describedby': string | undefined;
}

/** A labelled form control with an optional hint and the server's message for it. */
export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: string | undefined;
  children: (props: FieldControlProps) => ReactNode;
}) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy })}
      {hint ? (
        <span id={hintId} className="hint">
          {hint}
        </span>
      ) : null}
      <FieldMessage id={errorId ?? ''} message={error} />
    </div>
  );
}
