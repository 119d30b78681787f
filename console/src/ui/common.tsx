// Small pieces every page uses: links, error banners, field errors, usage bars, state badges.

import type { ReactNode } from 'react';
import { ApiError, fieldError } from '../api/errors';
import { navigate } from './router';

export function Link({ to, children, label }: { to: string; children: ReactNode; label?: string }) {
  return (
    <a
      href={to}
      aria-label={label}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** An error as the API gave it: its code and message, in a live region screen readers announce. */
export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(0, 'CONSOLE_ERROR', String(error));
  return (
    <div className="error" role="alert" data-code={e.code}>
      <strong>{e.code}</strong> {e.message}
      {e.field ? <span className="error-field"> (field: {e.field})</span> : null}
    </div>
  );
}

/** The message for one form field, shown beside it, when the error names that field. */
export function FieldError({ error, field, id }: { error: unknown; field: string; id: string }) {
  const text = fieldError(error, field);
  if (!text) return null;
  return (
    <span className="field-error" id={id} role="alert">
      {text}
    </span>
  );
}

export function UsageBar({ used, total, label }: { used: number; total: number; label: string }) {
  const share = total > 0 ? Math.min(1, used / total) : 0;
  return (
    <div className="usage" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={total} aria-valuenow={used}>
      <progress className="usage-bar" max={1} value={share} aria-hidden="true" />
      <span className="usage-text">
        {used} / {total}
      </span>
    </div>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge badge-${state.replace(/[^a-z_]/g, '')}`}>{state}</span>;
}

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title">{title}</h1>
        <div className="page-actions">{actions}</div>
      </header>
      {children}
    </section>
  );
}

/** A table's header row: one column header per title. */
export function Head({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th scope="col" key={c}>
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}
