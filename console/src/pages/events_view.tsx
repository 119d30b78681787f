// The log's events as the console shows them (a VM's or host's history, the timeline): newest
// first, what happened, when, to what and who did it; bounded at the time-travel moment.

import { get, type Answer } from '../api/client';
import type { LoggedEvent } from '../api/types';
import { currentAsOf, eventsBound } from '../live/time_travel';
import { useLive } from '../live/useLive';
import { ErrorBanner, Head } from '../ui/common';

/** GET /api/v1/events with `query` (its own parameters), newest first. */
export async function loadEvents(query: string): Promise<Answer<LoggedEvent[]>> {
  const a = await get<{ items: (LoggedEvent & { type?: string })[] }>(`/api/v1/events?${query}${eventsBound(currentAsOf())}`);
  return { body: a.body.items.map((e) => ({ ...e, eventType: e.eventType ?? e.type ?? '' })).reverse(), position: a.position };
}

/** Events of the query, reloaded when an event of one of `prefixes` arrives. */
export function EventTable({ query, prefixes, label }: { query: string; prefixes: readonly string[]; label: string }) {
  const live = useLive(() => loadEvents(query), prefixes, query);
  return (
    <div>
      <ErrorBanner error={live.error} />
      <table aria-label={label}>
        <Head columns={['Position', 'When', 'Object', 'What', 'Who']} />
        <tbody>
          {(live.data ?? []).map((e) => (
            <tr key={e.position}>
              <td>{e.position}</td>
              <td>{e.time}</td>
              <td>{e.stream}</td>
              <td>{e.eventType.replace('qx.events.v1.', '')}</td>
              <td>{e.principal}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One stream's history. */
export function History({ stream }: { stream: string }) {
  return <EventTable query={`stream=${encodeURIComponent(stream)}&limit=1000`} prefixes={[stream]} label="History" />;
}
