// Clusters, alerts and the event timeline.

import { useState } from 'react';
import { post } from '../api/client';
import { listOf } from '../live/time_travel';
import type { Alert, Cluster } from '../api/types';
import { useLive } from '../live/useLive';
import { ErrorBanner, Link, Page, StateBadge, Head } from '../ui/common';
import { CreateClusterWizard } from './cluster_wizard';
import { EventTable } from './events_view';

export function ClusterList() {
  const live = useLive(() => listOf<Cluster>('cluster', '/api/v1/clusters'), ['cluster-']);
  const [wizard, setWizard] = useState(false);
  return (
    <Page
      title="Clusters"
      actions={
        <button type="button" onClick={() => setWizard(true)}>
          New cluster
        </button>
      }
    >
      {wizard ? <CreateClusterWizard onClose={() => setWizard(false)} /> : null}
      <ErrorBanner error={live.error} />
      <table aria-label="Clusters">
        <Head columns={['Cluster', 'Hosts', 'DRS', 'HA']} />
        <tbody>
          {(live.data ?? []).map((c) => (
            <tr key={c.id}>
              <td>
                <Link to={`/clusters/${encodeURIComponent(c.id)}`}>{c.name || c.id}</Link>
              </td>
              <td>{(c.nodeIds ?? []).length}</td>
              <td>
                <StateBadge state={c.drs?.enabled ? `DRS ${String(c.drs.automation ?? 'on')}` : 'DRS off'} />
              </td>
              <td>
                <StateBadge state={c.ha?.enabled ? 'HA on' : 'HA off'} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}

export function AlertList() {
  const live = useLive(() => listOf<Alert>('alert', '/api/v1/alerts'), ['alert-']);
  const [error, setError] = useState<unknown>();
  const act = (a: Alert, action: 'acknowledge' | 'resolve') => {
    setError(undefined);
    post(`/api/v1/alerts/${encodeURIComponent(a.id)}/${action}`, {}).catch(setError);
  };
  const order = ['critical', 'warning', 'info'];
  const rows = [...(live.data ?? [])].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
  return (
    <Page title="Alerts">
      <ErrorBanner error={live.error ?? error} />
      <table aria-label="Alerts">
        <Head columns={['Severity', 'Alert', 'State', 'Actions']} />
        <tbody>
          {rows.map((a) => (
            <tr key={a.id} data-alert={a.id} data-state={a.state}>
              <td>{a.severity}</td>
              <td>{a.message}</td>
              <td>{a.state}</td>
              <td>
                {a.state === 'open' ? (
                  <button type="button" onClick={() => act(a, 'acknowledge')}>
                    Acknowledge {a.id}
                  </button>
                ) : null}{' '}
                {a.state !== 'resolved' ? (
                  <button type="button" onClick={() => act(a, 'resolve')}>
                    Resolve {a.id}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}

/** The query of the timeline's filters (docs/api/openapi.yaml, GET /api/v1/events). */
export function timelineQuery(f: { stream: string; principal: string; type: string }): string {
  const q = new URLSearchParams({ limit: '200' });
  if (f.stream.trim()) q.set('stream', f.stream.trim());
  if (f.principal.trim()) q.set('principal', f.principal.trim());
  if (f.type.trim()) q.set('type', f.type.trim());
  return q.toString();
}

export function Timeline() {
  const [filters, setFilters] = useState({ stream: '', principal: '', type: '' });
  const [applied, setApplied] = useState(filters);
  return (
    <Page title="Events">
      <form
        className="inline-form"
        aria-label="Filter events"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        {(['stream', 'principal', 'type'] as const).map((k) => (
          <span key={k}>
            <label htmlFor={`events-${k}`}>{k}</label>
            <input id={`events-${k}`} value={filters[k]} onChange={(e) => setFilters({ ...filters, [k]: e.target.value })} />
          </span>
        ))}
        <button type="submit">Search</button>
      </form>
      <EventTable query={timelineQuery(applied)} prefixes={['']} label="Events" />
    </Page>
  );
}
