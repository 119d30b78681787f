// VMs: the list (filter, sort, bulk start and stop, virtualized for thousands of rows) and the
// creation wizard.

import { useMemo, useRef, useState } from 'react';
import { post } from '../api/client';
import { listOf } from '../live/time_travel';
import type { Node, Vm } from '../api/types';
import { useLive } from '../live/useLive';
import { ErrorBanner, Link, Page, StateBadge } from '../ui/common';
import { filterRows, nextSort, sortRows, type Sort } from '../ui/table_logic';
import { visibleRows } from '../ui/virtual_window';
import { CreateVmWizard } from './vm_wizard';

type Column = 'name' | 'id' | 'powerState' | 'nodeId' | 'vcpus' | 'memoryMib';
const columns: { key: Column; title: string }[] = [
  { key: 'name', title: 'Name' },
  { key: 'id', title: 'Id' },
  { key: 'powerState', title: 'State' },
  { key: 'nodeId', title: 'Host' },
  { key: 'vcpus', title: 'vCPUs' },
  { key: 'memoryMib', title: 'Memory (MiB)' },
];

export function valueOf(v: Vm, key: Column): string | number {
  switch (key) {
    case 'name':
      return v.spec.name;
    case 'vcpus':
      return v.spec.vcpus;
    case 'memoryMib':
      return v.spec.memoryMib;
    default:
      return v[key];
  }
}

const rowHeight = 34;

export function VmList() {
  const live = useLive(() => listOf<Vm>('vm', '/api/v1/vms'), ['vm-']);
  const nodes = useLive(() => listOf<Node>('node', '/api/v1/nodes'), ['node-']);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<Sort<Column>>({ key: 'name', direction: 'asc' });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkError, setBulkError] = useState<unknown>();
  const [wizard, setWizard] = useState(false);
  const [scrollTop, setScrollTop] = useState(0);
  const viewport = useRef<HTMLDivElement>(null);
  const rows = useMemo(
    () => sortRows(filterRows(live.data ?? [], filter, (v) => [v.spec.name, v.id, v.powerState, v.nodeId]), sort, valueOf),
    [live.data, filter, sort],
  );
  const viewHeight = viewport.current?.clientHeight ?? 600;
  const win = visibleRows(scrollTop, viewHeight, rowHeight, rows.length);
  const bulk = async (action: 'start' | 'stop') => {
    setBulkError(undefined);
    const ids = rows.filter((v) => selected.has(v.id)).map((v) => v.id);
    const results = await Promise.allSettled(ids.map((id) => post(`/api/v1/vms/${encodeURIComponent(id)}/${action}`, {})));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed && failed.status === 'rejected') setBulkError(failed.reason);
  };
  return (
    <Page
      title="Virtual machines"
      actions={
        <>
          <button type="button" onClick={() => setWizard(true)}>
            New VM
          </button>
          <button type="button" disabled={selected.size === 0} onClick={() => void bulk('start')}>
            Start selected
          </button>
          <button type="button" disabled={selected.size === 0} onClick={() => void bulk('stop')}>
            Stop selected
          </button>
        </>
      }
    >
      {wizard ? <CreateVmWizard nodes={nodes.data ?? []} onClose={() => setWizard(false)} /> : null}
      <ErrorBanner error={live.error ?? bulkError} />
      <label htmlFor="vm-filter">Filter</label>{' '}
      <input id="vm-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name, id, state or host" />
      <span className="count" aria-live="polite">
        {' '}
        {rows.length} of {live.data?.length ?? 0}
      </span>
      <div className="grid" role="table" aria-label="Virtual machines" aria-rowcount={rows.length + 1}>
        <div className="grid-row grid-head" role="row">
          <span role="columnheader" className="cell-check">
            <input
              type="checkbox"
              aria-label="Select all shown"
              checked={rows.length > 0 && rows.every((v) => selected.has(v.id))}
              onChange={(e) => setSelected(e.target.checked ? new Set(rows.map((v) => v.id)) : new Set())}
            />
          </span>
          {columns.map((c) => (
            <span role="columnheader" key={c.key} aria-sort={sort.key === c.key ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'}>
              <button type="button" className="sort" onClick={() => setSort(nextSort(sort, c.key))}>
                {c.title}
                {sort.key === c.key ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''}
              </button>
            </span>
          ))}
        </div>
        <div className="grid-body" ref={viewport} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} role="rowgroup">
          <div style={{ height: rows.length * rowHeight, position: 'relative' }}>
            <div style={{ transform: `translateY(${win.offset}px)` }}>
              {rows.slice(win.first, win.last).map((v, i) => (
                <div className="grid-row" role="row" key={v.id} aria-rowindex={win.first + i + 2} data-vm={v.id} style={{ height: rowHeight }}>
                  <span role="cell" className="cell-check">
                    <input
                      type="checkbox"
                      aria-label={`Select ${v.spec.name}`}
                      checked={selected.has(v.id)}
                      onChange={(e) => {
                        const next = new Set(selected);
                        if (e.target.checked) next.add(v.id);
                        else next.delete(v.id);
                        setSelected(next);
                      }}
                    />
                  </span>
                  <span role="cell" className="cell-name">
                    <Link to={`/vms/${encodeURIComponent(v.id)}`}>{v.spec.name}</Link>
                  </span>
                  <span role="cell">{v.id}</span>
                  <span role="cell" data-field="powerState">
                    <StateBadge state={v.powerState} />
                  </span>
                  <span role="cell">{v.nodeId}</span>
                  <span role="cell">{v.spec.vcpus}</span>
                  <span role="cell">{v.spec.memoryMib}</span>
                </div>
              ))}
            </div>
          </div>
        </div>
      </div>
    </Page>
  );
}
