import { describe, expect, it } from 'vitest';
import { failuresBeforeResync, readMessage, retryDelayMs, watchUrl } from '../src/live/frames';

const ev = (position: number, stream = 'vm-a') => ({ type: 'event', position, stream, version: 1, eventType: 'qx.events.v1.VmCreated', time: '', principal: 'user:admin', data: {} });

describe('readMessage', () => {
  it('reads one frame and a batch of frames in log order', () => {
    expect(readMessage(JSON.stringify(ev(5)), 0).events.map((e) => e.position)).toEqual([5]);
    expect(readMessage(JSON.stringify([ev(6), ev(7), ev(8)]), 5).events.map((e) => e.position)).toEqual([6, 7, 8]);
  });

  it('drops what a resumed watch repeats: nothing is applied twice', () => {
    const d = readMessage(JSON.stringify([ev(4), ev(5), ev(6)]), 5);
    expect(d.events.map((e) => e.position)).toEqual([6]);
  });

  it('hands on operations and the overflow position', () => {
    const op = { id: 'op-1', kind: 'vm.start', target: 'vm-a', state: 'running', progress: 40 };
    const d = readMessage(JSON.stringify([{ type: 'operation', operation: op }, { type: 'overflow', resumeFrom: 41 }]), 0);
    expect(d.operations).toHaveLength(1);
    expect(d.operations[0].progress).toBe(40);
    expect(d.resumeFrom).toBe(41);
  });

  it('counts what it cannot read instead of throwing', () => {
    expect(readMessage('not json', 0).unreadable).toBe(1);
    expect(readMessage(JSON.stringify([null, 3, { type: 'event' }, { type: 'x' }]), 0).unreadable).toBe(4);
  });
});

describe('watchUrl', () => {
  it('resumes from the position, with the token as the browser must send it', () => {
    expect(watchUrl({ protocol: 'http:', host: '127.0.0.1:8080' }, 42, 'a b')).toBe('ws://127.0.0.1:8080/api/v1/watch?from=42&batch=100&access_token=a%20b');
    expect(watchUrl({ protocol: 'https:', host: 'x' }, 0, '')).toBe('wss://x/api/v1/watch?from=now&batch=100');
  });
});

describe('retryDelayMs', () => {
  it('backs off to at most 5 s and resyncs after a few failures', () => {
    expect(retryDelayMs(1)).toBe(250);
    expect(retryDelayMs(2)).toBe(500);
    expect(retryDelayMs(20)).toBe(5000);
    expect(failuresBeforeResync).toBeGreaterThan(1);
  });
});
