// The watch's frames (docs/api/openapi.yaml, WatchFrame) read into what the console acts on.
// Pure: the socket lives in watch.ts; this is what its tests check.

export interface EventFrame {
  type: 'event';
  position: number;
  stream: string;
  version: number;
  eventType: string;
  time: string;
  principal: string;
  data: Record<string, unknown>;
}

export interface Operation {
  id: string;
  kind: string;
  target: string;
  state: 'running' | 'succeeded' | 'failed';
  progress: number;
  result: Record<string, unknown>;
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

export interface Delivery {
  /** New events, in log order, each after the cursor's position. */
  events: EventFrame[];
  operations: Operation[];
  /** An overflow frame: the server will close; reconnect from here. */
  resumeFrom?: number;
  /** Frames that were not JSON of a known shape (counted, never thrown). */
  unreadable: number;
}

function isEvent(f: Record<string, unknown>): boolean {
  return (
    f.type === 'event' &&
    typeof f.position === 'number' &&
    typeof f.stream === 'string' &&
    typeof f.eventType === 'string'
  );
}

/**
 * Reads one WebSocket message (a frame, or an array of frames with ?batch=N) against the last
 * position already seen: events at or before it are dropped (a resumed watch may repeat the
 * boundary), so a reconnect never applies an event twice.
 */
export function readMessage(text: string, seen: number): Delivery {
  const out: Delivery = { events: [], operations: [], unreadable: 0 };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    out.unreadable = 1;
    return out;
  }
  const frames = Array.isArray(parsed) ? parsed : [parsed];
  let last = seen;
  for (const raw of frames) {
    if (typeof raw !== 'object' || raw === null) {
      out.unreadable++;
      continue;
    }
    const f = raw as Record<string, unknown>;
    if (isEvent(f)) {
      const e = f as unknown as EventFrame;
      if (e.position > last) {
        out.events.push(e);
        last = e.position;
      }
    } else if (f.type === 'operation' && typeof f.operation === 'object' && f.operation !== null) {
      out.operations.push(f.operation as Operation);
    } else if (f.type === 'overflow' && typeof f.resumeFrom === 'number') {
      out.resumeFrom = f.resumeFrom;
    } else {
      out.unreadable++;
    }
  }
  return out;
}

/** The watch address for a page at `location`, resuming after `position`. */
export function watchUrl(location: { protocol: string; host: string }, position: number, token: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const from = position > 0 ? String(position) : 'now';
  const auth = token ? `&access_token=${encodeURIComponent(token)}` : '';
  return `${scheme}//${location.host}/api/v1/watch?from=${from}&batch=100${auth}`;
}

/** The delay before the n-th reconnect in a row (n from 1): quick at first, at most 5 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(5000, 250 * 2 ** Math.max(0, attempt - 1));
}

/** After this many failed connects in a row the position may be too old (410): resync. */
export const failuresBeforeResync = 3;
