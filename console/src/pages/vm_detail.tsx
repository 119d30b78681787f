// One VM: Summary (power actions, migration), Snapshots (create, revert, delete), Disks and
// Network (what it is attached to), Events (its history: who did what, when, why). Live.

import { useState } from 'react';
import { del, post } from '../api/client';
import { listOf, oneOf } from '../live/time_travel';
import type { Node, Vm } from '../api/types';
import { useLive } from '../live/useLive';
import { ErrorBanner, FieldError, Page, StateBadge, Head } from '../ui/common';
import { History } from './events_view';

const tabs = ['Summary', 'Snapshots', 'Disks', 'Network', 'Events'] as const;
type Tab = (typeof tabs)[number];

function vmPath(id: string) {
  return `/api/v1/vms/${encodeURIComponent(id)}`;
}

export function VmDetail({ id }: { id: string }) {
  const live = useLive(() => oneOf<Vm>(vmPath(id)), [`vm-${id}`], id);
  const [tab, setTab] = useState<Tab>('Summary');
  const vm = live.data;
  return (
    <Page title={vm ? vm.spec.name : id}>
      <ErrorBanner error={live.error} />
      <div role="tablist" aria-label="VM views" className="tabs">
        {tabs.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`panel-${t}`}
            tabIndex={tab === t ? 0 : -1}
            onClick={() => setTab(t)}
            onKeyDown={(e) => {
              const i = tabs.indexOf(tab);
              if (e.key === 'ArrowRight') setTab(tabs[(i + 1) % tabs.length]);
              if (e.key === 'ArrowLeft') setTab(tabs[(i + tabs.length - 1) % tabs.length]);
            }}
          >
            {t}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {vm && tab === 'Summary' ? <Summary vm={vm} /> : null}
        {vm && tab === 'Snapshots' ? <Snapshots vm={vm} /> : null}
        {vm && tab === 'Disks' ? <Listing title="Volumes (boot order)" items={vm.spec.volumeIds ?? []} /> : null}
        {vm && tab === 'Network' ? <Listing title="Networks (NIC order)" items={vm.spec.networkIds ?? []} /> : null}
        {tab === 'Events' ? <History stream={`vm-${id}`} /> : null}
      </div>
    </Page>
  );
}

function Summary({ vm }: { vm: Vm }) {
  const [error, setError] = useState<unknown>();
  const [target, setTarget] = useState('');
  const nodes = useLive(() => listOf<Node>('node', '/api/v1/nodes'), ['node-']);
  const act = async (action: string, body: unknown = {}) => {
    setError(undefined);
    try {
      await post(`${vmPath(vm.id)}/${action}`, body);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <dl className="summary">
        <dt>State</dt>
        <dd data-field="powerState">
          <StateBadge state={vm.powerState} />
        </dd>
        <dt>Host</dt>
        <dd data-field="nodeId">{vm.nodeId || '—'}</dd>
        <dt>Size</dt>
        <dd>
          {vm.spec.vcpus} vCPU, {vm.spec.memoryMib} MiB
        </dd>
        <dt>Last reason</dt>
        <dd>{vm.lastReason || '—'}</dd>
        <dt>Version</dt>
        <dd>{vm.version}</dd>
      </dl>
      <div className="actions">
        <button type="button" onClick={() => void act('start')}>
          Start
        </button>
        <button type="button" onClick={() => void act('stop')}>
          Stop
        </button>
        <button type="button" onClick={() => void act('force-stop')}>
          Force stop
        </button>
        <button type="button" onClick={() => void act('reboot')}>
          Reboot
        </button>
      </div>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void act('migrate', target ? { targetNodeId: target } : {});
        }}
      >
        <label htmlFor="migrate-target">Migrate to</label>
        <select id="migrate-target" value={target} onChange={(e) => setTarget(e.target.value)}>
          <option value="">the best host (DRS placement)</option>
          {(nodes.data ?? [])
            .filter((n) => n.id !== vm.nodeId && n.state === 'connected')
            .map((n) => (
              <option key={n.id} value={n.id}>
                {n.id}
              </option>
            ))}
        </select>
        <button type="submit">Migrate</button>
        <FieldError error={error} field="targetNodeId" id="migrate-target-error" />
      </form>
      <ErrorBanner error={error} />
    </div>
  );
}

function Snapshots({ vm }: { vm: Vm }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>();
  const run = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <form
        className="inline-form"
        aria-label="Take a snapshot"
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => post(`${vmPath(vm.id)}/snapshots`, description ? { name, description } : { name }));
        }}
      >
        <label htmlFor="snapshot-name">Snapshot name</label>
        <input id="snapshot-name" value={name} onChange={(e) => setName(e.target.value)} aria-describedby="snapshot-name-error" />
        <FieldError error={error} field="name" id="snapshot-name-error" />
        <label htmlFor="snapshot-description">Description</label>
        <input id="snapshot-description" value={description} onChange={(e) => setDescription(e.target.value)} />
        <button type="submit">Take snapshot</button>
      </form>
      <ErrorBanner error={error} />
      <table aria-label="Snapshots">
        <Head columns={['Name', 'Description', 'VM state then', 'Actions']} />
        <tbody>
          {vm.snapshots.map((s) => (
            <tr key={s.name} data-snapshot={s.name}>
              <td>{s.name}</td>
              <td>{s.description}</td>
              <td>{s.powerState}</td>
              <td>
                <button type="button" onClick={() => void run(() => post(`${vmPath(vm.id)}/snapshots/${encodeURIComponent(s.name)}/revert`, {}))}>
                  Revert to {s.name}
                </button>{' '}
                <button type="button" onClick={() => void run(() => del(`${vmPath(vm.id)}/snapshots/${encodeURIComponent(s.name)}`))}>
                  Delete {s.name}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Listing({ title, items }: { title: string; items: string[] }) {
  return (
    <div>
      <h2>{title}</h2>
      <ul>
        {items.map((i) => (
          <li key={i}>{i}</li>
        ))}
        {items.length === 0 ? <li>None.</li> : null}
      </ul>
    </div>
  );
}
