// Time travel: every page can show the datacenter as it was at a log position or a time
// (GET /api/v1/datacenter?asOf= for lists, GET …/{id}?asOf= for one resource). While a moment
// in the past is chosen, nothing is live and nothing can be changed.

import { useEffect, useState } from 'react';
import { get, getAll, type Answer } from '../api/client';

export type Kind = 'vm' | 'node' | 'cluster' | 'storage_pool' | 'volume' | 'network' | 'security_group' | 'image' | 'alert';

export interface Snapshot {
  position: number;
  time: string | null;
  head: number;
  resources: Partial<Record<Kind, unknown[]>>;
}

let asOf = '';
let snapshot: Promise<Answer<Snapshot>> | null = null;
const listeners = new Set<(v: string) => void>();

/** "" for now, else the position or RFC 3339 time asked for. */
export function currentAsOf(): string {
  return asOf;
}

export function travelTo(value: string): void {
  asOf = value.trim();
  snapshot = null;
  for (const f of listeners) f(asOf);
}

export function useAsOf(): string {
  const [v, setV] = useState(asOf);
  useEffect(() => {
    listeners.add(setV);
    return () => {
      listeners.delete(setV);
    };
  }, []);
  return v;
}

/** What the user typed, as the API takes it: a position, or a local date-time made RFC 3339. */
export function asOfParameter(input: string): string {
  const t = input.trim();
  if (/^\d+$/.test(t)) return t;
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t; // the server names what is wrong with it
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function datacenterThen(): Promise<Answer<Snapshot>> {
  if (!snapshot) snapshot = get<Snapshot>(`/api/v1/datacenter?asOf=${encodeURIComponent(asOf)}`);
  return snapshot;
}

/** The events query's bound for the chosen moment ("" for now). */
export function eventsBound(moment: string): string {
  if (moment === '') return '';
  return /^\d+$/.test(moment) ? `&toPosition=${moment}` : `&toTime=${encodeURIComponent(moment)}`;
}

/** A list now, or as it was at the chosen moment. */
export async function listOf<T>(kind: Kind, path: string): Promise<Answer<T[]>> {
  if (asOf === '') return getAll<T>(path);
  const s = await datacenterThen();
  return { body: (s.body.resources[kind] ?? []) as T[], position: s.position };
}

/** One resource now, or as it was at the chosen moment. */
export function oneOf<T>(path: string): Promise<Answer<T>> {
  return asOf === '' ? get<T>(path) : get<T>(`${path}?asOf=${encodeURIComponent(asOf)}`);
}
