// A view's data, loaded from the API and reloaded whenever the watch brings an event of a
// stream it shows: every page updates live without a reload of the page.

import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/errors';
import type { Answer } from '../api/client';
import { concerns, ReloadGate } from './reload_gate';
import { useAsOf } from './time_travel';
import { watch } from './watch';

export interface Live<T> {
  data: T | undefined;
  error: ApiError | undefined;
  reload: () => void;
}

export function useLive<T>(load: () => Promise<Answer<T>>, prefixes: readonly string[], key = ''): Live<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const gate = useRef<ReloadGate>();
  const asOf = useAsOf();
  useEffect(() => {
    let alive = true;
    const g = new ReloadGate(async () => {
      try {
        const a = await load();
        if (!alive) return;
        setData(a.body);
        setError(undefined);
      } catch (e) {
        if (alive) setError(e instanceof ApiError ? e : new ApiError(0, 'CONSOLE_ERROR', String(e)));
      }
    });
    gate.current = g;
    g.trigger();
    const offEvent = watch.onEvent((e) => {
      if (asOf === '' && concerns(e.stream, prefixes)) g.trigger();
    });
    const offResync = watch.onResync(() => g.trigger());
    return () => {
      alive = false;
      offEvent();
      offResync();
    };
    // `load` and `prefixes` are fixed per view; `key` names what changes them.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, asOf]);
  return { data, error, reload: () => gate.current?.trigger() };
}
