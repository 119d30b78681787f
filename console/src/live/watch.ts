// One WebSocket on /api/v1/watch for the whole console, resumed from the last position seen
// after any drop: no change is missed. An overflow (close 4008) resumes at once from the
// server's resumeFrom; repeated failures (the position may be older than the server replays:
// 410) make every view reload ("resync"), then the watch goes on from the reloaded position.

import { currentToken, get } from '../api/client';
import { failuresBeforeResync, readMessage, retryDelayMs, watchUrl, type EventFrame, type Operation } from './frames';

export type WatchStatus = 'connecting' | 'live' | 'retrying' | 'stopped';

type Listener<T> = (x: T) => void;

class Watch {
  position = 0;
  status: WatchStatus = 'stopped';
  private socket: WebSocket | null = null;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly eventListeners = new Set<Listener<EventFrame>>();
  private readonly operationListeners = new Set<Listener<Operation>>();
  private readonly statusListeners = new Set<Listener<WatchStatus>>();
  private readonly resyncListeners = new Set<Listener<void>>();

  /**
   * Starts following after `position` (a read's X-Log-Position). Once started, only frames move
   * the cursor: a view that read a later state must not make the watch skip the events that
   * other views, loaded earlier, still need to hear about.
   */
  start(position: number): void {
    if (this.status !== 'stopped') return;
    this.position = Math.max(this.position, position);
    this.connect();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.setStatus('stopped');
    const s = this.socket;
    this.socket = null;
    s?.close(1000);
  }

  onEvent(f: Listener<EventFrame>): () => void {
    this.eventListeners.add(f);
    return () => this.eventListeners.delete(f);
  }
  onOperation(f: Listener<Operation>): () => void {
    this.operationListeners.add(f);
    return () => this.operationListeners.delete(f);
  }
  onStatus(f: Listener<WatchStatus>): () => void {
    this.statusListeners.add(f);
    return () => this.statusListeners.delete(f);
  }
  onResync(f: Listener<void>): () => void {
    this.resyncListeners.add(f);
    return () => this.resyncListeners.delete(f);
  }

  /** Test hook (e2e): drops the connection as a network failure would. */
  dropForTest(): void {
    this.socket?.close(4000, 'dropped by the console (test)');
  }

  private setStatus(s: WatchStatus): void {
    this.status = s;
    for (const f of this.statusListeners) f(s);
  }

  private async resync(): Promise<void> {
    try {
      this.position = (await get('/api/v1/vms?limit=1')).position;
    } catch {
      // Keep the old position: the next failures resync again.
    }
    for (const f of this.resyncListeners) f();
    if (this.status !== 'stopped') this.connect();
  }

  private connect(): void {
    this.setStatus('connecting');
    const socket = new WebSocket(watchUrl(window.location, this.position, currentToken()));
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.failures = 0;
      this.setStatus('live');
    };
    socket.onmessage = (m) => {
      if (this.socket !== socket || typeof m.data !== 'string') return;
      const d = readMessage(m.data, this.position);
      for (const e of d.events) {
        this.position = e.position;
        for (const f of this.eventListeners) f(e);
      }
      for (const o of d.operations) for (const f of this.operationListeners) f(o);
      if (d.resumeFrom !== undefined) this.position = Math.max(this.position, d.resumeFrom);
    };
    socket.onclose = (c) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.status === 'stopped') return;
      const opened = this.status === 'live';
      if (!opened) this.failures++;
      this.setStatus('retrying');
      if (this.failures >= failuresBeforeResync) {
        // The position may be older than the server replays (410): take the log's position
        // now, then have every view reload (each reflects at least it), then follow from it.
        this.failures = 0;
        void this.resync();
        return;
      }
      // 4008: "resume from <position>" after an overflow: at once; anything else: back off.
      const delay = c.code === 4008 ? 0 : retryDelayMs(Math.max(1, this.failures));
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }
}

export const watch = new Watch();
