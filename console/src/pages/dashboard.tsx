// The datacenter at a glance: counts, each cluster's allocation against its hosts, open
// alerts and recent tasks; live.

import type { Answer } from '../api/client';
import { listOf } from '../live/time_travel';
import type { Alert, Cluster, Node, Vm } from '../api/types';
import type { Operation } from '../live/frames';
import { useLive } from '../live/useLive';
import { ErrorBanner, Link, Page, UsageBar, Head } from '../ui/common';

interface Everything {
  vms: Vm[];
  nodes: Node[];
  clusters: Cluster[];
  alerts: Alert[];
}

async function loadEverything(): Promise<Answer<Everything>> {
  const [vms, nodes, clusters, alerts] = await Promise.all([
    listOf<Vm>('vm', '/api/v1/vms'),
    listOf<Node>('node', '/api/v1/nodes'),
    listOf<Cluster>('cluster', '/api/v1/clusters'),
    listOf<Alert>('alert', '/api/v1/alerts'),
  ]);
  return {
    body: { vms: vms.body, nodes: nodes.body, clusters: clusters.body, alerts: alerts.body },
    position: Math.min(vms.position, nodes.position, clusters.position, alerts.position),
  };
}

/** vCPUs and memory of the running VMs on a cluster's hosts, against the hosts' totals. */
export function clusterUsage(c: Cluster, nodes: Node[], vms: Vm[]) {
  const members = nodes.filter((n) => n.clusterId === c.id);
  const ids = new Set(members.map((n) => n.id));
  const placed = vms.filter((v) => ids.has(v.nodeId) && v.powerState !== 'stopped' && v.powerState !== 'defined' && v.powerState !== 'deleted');
  return {
    hosts: members.length,
    vcpus: placed.reduce((s, v) => s + v.spec.vcpus, 0),
    threads: members.reduce((s, n) => s + (n.hardware.cpuThreads ?? 0), 0),
    memoryMib: placed.reduce((s, v) => s + v.spec.memoryMib, 0),
    totalMib: members.reduce((s, n) => s + (n.hardware.memoryMib ?? 0), 0),
  };
}

export function Dashboard({ ops }: { ops: Operation[] }) {
  const live = useLive(loadEverything, ['vm-', 'node-', 'cluster-', 'alert-']);
  const d = live.data;
  const open = d?.alerts.filter((a) => a.state !== 'resolved') ?? [];
  return (
    <Page title="Dashboard">
      <ErrorBanner error={live.error} />
      {d ? (
        <>
          <ul className="counts" aria-label="Counts">
            <li>
              <Link to="/vms">VMs</Link> <strong data-count="vms">{d.vms.length}</strong>
              <span> ({d.vms.filter((v) => v.powerState === 'running').length} running)</span>
            </li>
            <li>
              <Link to="/hosts">Hosts</Link> <strong data-count="hosts">{d.nodes.length}</strong>
            </li>
            <li>
              <Link to="/clusters">Clusters</Link> <strong data-count="clusters">{d.clusters.length}</strong>
            </li>
            <li>
              <Link to="/alerts">Alerts</Link> <strong data-count="alerts">{open.length}</strong>
            </li>
          </ul>
          <h2>Clusters</h2>
          <table>
            <Head columns={['Cluster', 'Hosts', 'CPU allocated (vCPUs / threads)', 'Memory allocated (MiB)']} />
            <tbody>
              {d.clusters.map((c) => {
                const u = clusterUsage(c, d.nodes, d.vms);
                return (
                  <tr key={c.id}>
                    <td>{c.name || c.id}</td>
                    <td>{u.hosts}</td>
                    <td>
                      <UsageBar used={u.vcpus} total={u.threads} label={`${c.name || c.id} CPU`} />
                    </td>
                    <td>
                      <UsageBar used={u.memoryMib} total={u.totalMib} label={`${c.name || c.id} memory`} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h2>Open alerts</h2>
          <ul>
            {open.slice(0, 10).map((a) => (
              <li key={a.id}>
                [{a.severity}] {a.message}
              </li>
            ))}
            {open.length === 0 ? <li>None.</li> : null}
          </ul>
          <h2>Recent tasks</h2>
          <ul>
            {ops.slice(0, 5).map((o) => (
              <li key={o.id}>
                {o.kind} {o.target}: {o.state} {o.progress}%
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>Loading…</p>
      )}
    </Page>
  );
}
