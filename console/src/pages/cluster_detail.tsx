// One cluster: its hosts, DRS (imbalance against its target, the recommendations with their
// reasons, apply or reject each) and HA (each node's lease, the restart queue, VMs left down
// and why, admission control). Live: reloads on the cluster's, its nodes' and DRS/HA events.

import { useState } from 'react';
import { del, get, post } from '../api/client';
import type { Cluster, Node } from '../api/types';
import { currentAsOf, listOf, oneOf } from '../live/time_travel';
import { useLive } from '../live/useLive';
import { ErrorBanner, Link, Page, StateBadge, Head } from '../ui/common';

export interface DrsStatus {
  enabled: boolean;
  automation: string;
  imbalance: number;
  targetImbalance: number;
  pendingRecommendations: number;
  nextPassInMs: number | null;
}
export interface DrsMove {
  id: string;
  vmId: string;
  from: string;
  to: string;
  reason: string;
  imbalanceBefore: number;
  imbalanceAfter: number;
}
export interface HaStatus {
  enabled: boolean;
  nodes: { nodeId: string; state: string; heardAgoMs: number }[];
  restartQueue: { vmId: string; priority?: number }[];
  leftDown: { vmId: string; reason: string }[];
  admission: { admitsMore: boolean; breached: boolean; policy: string; hostFailuresToTolerate: number };
}

/** "0.42 (target 0.10): above" as the DRS panel says it. */
export function imbalanceText(s: Pick<DrsStatus, 'imbalance' | 'targetImbalance'>): string {
  const verdict = s.imbalance > s.targetImbalance ? 'above its target' : 'within its target';
  return `${s.imbalance.toFixed(3)} (target ${s.targetImbalance.toFixed(3)}): ${verdict}`;
}

export function ClusterDetail({ id }: { id: string }) {
  const base = `/api/v1/clusters/${encodeURIComponent(id)}`;
  const cluster = useLive(() => oneOf<Cluster>(base), [`cluster-${id}`], id);
  // DRS and HA live in their reactors: there is no past of them to show.
  const drs = useLive(() => get<DrsStatus>(`${base}/drs`), [`drs-`, `cluster-${id}`, 'node-', 'vm-'], `drs ${id}`);
  const moves = useLive(() => get<{ items: DrsMove[] }>(`${base}/drs/recommendations`), ['drs-', `cluster-${id}`], `moves ${id}`);
  const ha = useLive(() => get<HaStatus>(`${base}/ha`), ['ha-', 'node-', 'vm-', `cluster-${id}`], `ha ${id}`);
  const [error, setError] = useState<unknown>();
  const [adding, setAdding] = useState('');
  const free = useLive(() => listOf<Node>('node', '/api/v1/nodes'), ['node-']);
  const act = (m: DrsMove, action: 'apply' | 'reject') => {
    setError(undefined);
    post(`${base}/drs/recommendations/${encodeURIComponent(m.id)}/${action}`, {}).catch(setError);
  };
  const c = cluster.data;
  const past = currentAsOf() !== '';
  return (
    <Page title={c ? c.name || c.id : id}>
      <ErrorBanner error={cluster.error ?? error} />
      {c ? (
        <>
          <h2>Hosts</h2>
          <ul aria-label="Hosts of the cluster">
            {(c.nodeIds ?? []).map((n) => (
              <li key={n} data-member={n}>
                <Link to={`/hosts/${encodeURIComponent(n)}`}>{n}</Link>{' '}
                <button type="button" onClick={() => del(`${base}/nodes/${encodeURIComponent(n)}`).catch(setError)}>
                  Remove {n}
                </button>
              </li>
            ))}
          </ul>
          <form
            className="inline-form"
            aria-label="Add a host to the cluster"
            onSubmit={(e) => {
              e.preventDefault();
              setError(undefined);
              post(`${base}/nodes/${encodeURIComponent(adding)}`, {}).catch(setError);
            }}
          >
            <label htmlFor="cluster-add-host">Host</label>
            <select id="cluster-add-host" value={adding} onChange={(e) => setAdding(e.target.value)}>
              <option value="">choose a host in no cluster</option>
              {(free.data ?? [])
                .filter((n) => n.clusterId === '')
                .map((n) => (
                  <option key={n.id} value={n.id}>
                    {n.id}
                  </option>
                ))}
            </select>
            <button type="submit" disabled={adding === ''}>
              Add to cluster
            </button>
          </form>
        </>
      ) : null}
      {past ? <p>DRS and HA show only the present.</p> : null}
      <h2>DRS</h2>
      <ErrorBanner error={drs.error} />
      {drs.data && !past ? (
        <>
          <p data-drs-imbalance={drs.data.imbalance}>
            {drs.data.enabled ? `On, ${drs.data.automation}` : 'Off'}. Imbalance {imbalanceText(drs.data)}.
          </p>
          <table aria-label="DRS recommendations">
            <Head columns={['VM', 'From', 'To', 'Why', 'Imbalance after', 'Actions']} />
            <tbody>
              {(moves.data?.items ?? []).map((m) => (
                <tr key={m.id} data-recommendation={m.id}>
                  <td>{m.vmId}</td>
                  <td>{m.from}</td>
                  <td>{m.to}</td>
                  <td>{m.reason}</td>
                  <td>{m.imbalanceAfter.toFixed(3)}</td>
                  <td>
                    <button type="button" onClick={() => act(m, 'apply')}>
                      Apply {m.id}
                    </button>{' '}
                    <button type="button" onClick={() => act(m, 'reject')}>
                      Reject {m.id}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {(moves.data?.items ?? []).length === 0 ? <p>No recommendation pending.</p> : null}
        </>
      ) : null}
      <h2>HA</h2>
      <ErrorBanner error={ha.error} />
      {ha.data && !past ? (
        <>
          <p>
            {ha.data.enabled ? 'On' : 'Off'}. Admission control: {ha.data.admission.admitsMore ? 'admits more VMs' : 'admits no more VMs'}
            {ha.data.admission.breached ? ' (breached)' : ''}.
          </p>
          <table aria-label="HA leases">
            <Head columns={['Node', 'Lease', 'Heard from (ms ago)']} />
            <tbody>
              {ha.data.nodes.map((n) => (
                <tr key={n.nodeId} data-ha-node={n.nodeId}>
                  <td>{n.nodeId}</td>
                  <td>
                    <StateBadge state={n.state} />
                  </td>
                  <td>{n.heardAgoMs}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Restart queue</h3>
          <ul>
            {ha.data.restartQueue.map((q) => (
              <li key={q.vmId}>{q.vmId}</li>
            ))}
            {ha.data.restartQueue.length === 0 ? <li>Empty.</li> : null}
          </ul>
          <h3>Left down</h3>
          <ul>
            {ha.data.leftDown.map((d) => (
              <li key={d.vmId}>
                {d.vmId}: {d.reason}
              </li>
            ))}
            {ha.data.leftDown.length === 0 ? <li>None.</li> : null}
          </ul>
        </>
      ) : null}
    </Page>
  );
}
