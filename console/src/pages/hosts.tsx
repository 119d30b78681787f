// Hosts: each with its state and what its VMs hold of it, maintenance in and out; a host's
// detail (summary, VMs, hardware, events).

import { useState } from 'react';
import { post } from '../api/client';
import { listOf, oneOf } from '../live/time_travel';
import type { Node, Vm } from '../api/types';
import { useLive } from '../live/useLive';
import { ErrorBanner, Link, Page, StateBadge, UsageBar, Head } from '../ui/common';
import { AddHostDialog } from './add_host';
import { History } from './events_view';

/** vCPUs and memory the host's allocations hold. */
export function allocated(n: Node): { vcpus: number; memoryMib: number } {
  let vcpus = 0;
  let memoryMib = 0;
  for (const a of Object.values(n.allocations ?? {})) {
    const x = a as { vcpus?: number; memoryMib?: number };
    vcpus += x.vcpus ?? 0;
    memoryMib += x.memoryMib ?? 0;
  }
  return { vcpus, memoryMib };
}

function MaintenanceButton({ node, onError }: { node: Node; onError: (e: unknown) => void }) {
  const entering = node.state !== 'maintenance';
  return (
    <button
      type="button"
      onClick={() => {
        onError(undefined);
        post(`/api/v1/nodes/${encodeURIComponent(node.id)}/${entering ? 'enter' : 'exit'}-maintenance`, {}).catch(onError);
      }}
    >
      {entering ? 'Enter maintenance' : 'Exit maintenance'} ({node.id})
    </button>
  );
}

export function HostList() {
  const live = useLive(() => listOf<Node>('node', '/api/v1/nodes'), ['node-']);
  const [error, setError] = useState<unknown>();
  const [adding, setAdding] = useState(false);
  return (
    <Page
      title="Hosts"
      actions={
        <button type="button" onClick={() => setAdding(true)}>
          Add host
        </button>
      }
    >
      {adding ? <AddHostDialog onClose={() => setAdding(false)} /> : null}
      <ErrorBanner error={live.error ?? error} />
      <table aria-label="Hosts">
        <Head columns={['Host', 'Host name', 'State', 'Cluster', 'CPU (vCPUs / threads)', 'Memory (MiB)', 'Actions']} />
        <tbody>
          {(live.data ?? []).map((n) => {
            const a = allocated(n);
            return (
              <tr key={n.id} data-node={n.id}>
                <td>
                  <Link to={`/hosts/${encodeURIComponent(n.id)}`}>{n.id}</Link>
                </td>
                <td>{n.hostname}</td>
                <td data-field="state">
                  <StateBadge state={n.state} />
                </td>
                <td>{n.clusterId || '—'}</td>
                <td>
                  <UsageBar used={a.vcpus} total={n.hardware.cpuThreads ?? 0} label={`${n.id} CPU`} />
                </td>
                <td>
                  <UsageBar used={a.memoryMib} total={n.hardware.memoryMib ?? 0} label={`${n.id} memory`} />
                </td>
                <td>
                  <MaintenanceButton node={n} onError={setError} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Page>
  );
}

export function HostDetail({ id }: { id: string }) {
  const live = useLive(() => oneOf<Node>(`/api/v1/nodes/${encodeURIComponent(id)}`), [`node-${id}`], id);
  const vms = useLive(() => listOf<Vm>('vm', '/api/v1/vms'), ['vm-']);
  const [error, setError] = useState<unknown>();
  const n = live.data;
  const here = (vms.data ?? []).filter((v) => v.nodeId === id);
  return (
    <Page title={id} actions={n ? <MaintenanceButton node={n} onError={setError} /> : null}>
      <ErrorBanner error={live.error ?? error} />
      {n ? (
        <>
          <dl className="summary">
            <dt>State</dt>
            <dd data-field="state">
              <StateBadge state={n.state} />
            </dd>
            <dt>Host name</dt>
            <dd>{n.hostname}</dd>
            <dt>Address</dt>
            <dd>{n.address}</dd>
            <dt>Cluster</dt>
            <dd>{n.clusterId || '—'}</dd>
            <dt>Hardware</dt>
            <dd>
              {n.hardware.cpuThreads ?? 0} threads, {n.hardware.memoryMib ?? 0} MiB
            </dd>
          </dl>
          <h2>VMs on this host</h2>
          <ul aria-label="VMs on this host">
            {here.map((v) => (
              <li key={v.id} data-vm={v.id}>
                <Link to={`/vms/${encodeURIComponent(v.id)}`}>{v.spec.name}</Link> <StateBadge state={v.powerState} />
              </li>
            ))}
            {here.length === 0 ? <li>None.</li> : null}
          </ul>
          <h2>Events</h2>
          <History stream={`node-${id}`} />
        </>
      ) : null}
    </Page>
  );
}
