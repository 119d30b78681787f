import { describe, expect, it } from 'vitest';
import { asOfParameter, eventsBound } from '../src/live/time_travel';

describe('time travel', () => {
  it('takes a position as it is and a time as RFC 3339', () => {
    expect(asOfParameter(' 1042 ')).toBe('1042');
    expect(asOfParameter('2026-12-07T09:30:00Z')).toBe('2026-12-07T09:30:00Z');
    expect(asOfParameter('2026-12-07T09:30:00.250+01:00')).toBe('2026-12-07T08:30:00Z');
    expect(asOfParameter('yesterday')).toBe('yesterday'); // the server names what is wrong
  });
  it('bounds the event history at the same moment', () => {
    expect(eventsBound('')).toBe('');
    expect(eventsBound('17')).toBe('&toPosition=17');
    expect(eventsBound('2026-12-07T08:30:00Z')).toBe('&toTime=2026-12-07T08%3A30%3A00Z');
  });
});
