// The recent tasks, as vSphere shows them: every long action (start, migrate, snapshot,
// evacuate, upload) with its progress, live from the watch's operation frames.

import { useEffect, useState } from 'react';
import { get, type Page } from '../api/client';
import type { Operation } from '../live/frames';
import { watch } from '../live/watch';
import { Head } from './common';

/** Newest first, at most `keep`; an operation seen again replaces its older state. */
export function mergeOperations(current: readonly Operation[], incoming: readonly Operation[], keep = 50): Operation[] {
  const byId = new Map(current.map((o) => [o.id, o]));
  for (const o of incoming) {
    const old = byId.get(o.id);
    if (!old || old.updatedAt <= o.updatedAt) byId.set(o.id, o);
  }
  return [...byId.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1)).slice(0, keep);
}

export function useOperations(): Operation[] {
  const [ops, setOps] = useState<Operation[]>([]);
  useEffect(() => {
    let alive = true;
    const load = () =>
      get<Page<Operation>>('/api/v1/operations?limit=50')
        .then((a) => alive && setOps((cur) => mergeOperations(cur, a.body.items)))
        .catch(() => {});
    void load();
    const off = watch.onOperation((o) => setOps((cur) => mergeOperations(cur, [o])));
    const offResync = watch.onResync(() => void load());
    return () => {
      alive = false;
      off();
      offResync();
    };
  }, []);
  return ops;
}

export function TaskPanel({ ops }: { ops: Operation[] }) {
  const [open, setOpen] = useState(true);
  const running = ops.filter((o) => o.state === 'running').length;
  return (
    <aside className="tasks" aria-label="Recent tasks">
      <button type="button" className="tasks-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        Recent tasks ({running} running)
      </button>
      {open ? (
        <table className="tasks-table">
          <Head columns={['Task', 'Target', 'State', 'Progress', 'Result']} />
          <tbody>
            {ops.slice(0, 8).map((o) => (
              <tr key={o.id} data-operation={o.id} data-kind={o.kind} data-state={o.state}>
                <td>{o.kind}</td>
                <td>{o.target}</td>
                <td>{o.state}</td>
                <td>
                  <progress max={100} value={o.progress} aria-label={`${o.kind} ${o.target} progress`} /> {o.progress}%
                </td>
                <td>{o.error ? `${o.error.code}: ${o.error.message}` : o.state === 'succeeded' ? 'done' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </aside>
  );
}
