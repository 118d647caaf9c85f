import { useEffect, useState } from 'preact/hooks';
import { ApiError, readEventStream } from './api';
import type { DashboardStats } from './types';

export type LiveStatus = 'connecting' | 'live' | 'down' | 'unavailable';

export interface Live {
  status: LiveStatus;
  /** Moves on every event that carries data: pages refresh what they show. */
  tick: number;
  /** The last `stats` event (the body of /v1/dashboard/stats). */
  stats: DashboardStats | null;
  detail: string | null;
}

/**
 * Follows GET /v1/usage/stream (SSE over fetch, with the key in the header) and reconnects after a drop with
 * Last-Event-ID, backing off up to 15 s. A 404 means the server has no stream: shown as "unavailable".
 */
export function useLive(): Live {
  const [live, setLive] = useState<Live>({ status: 'connecting', tick: 0, stats: null, detail: null });

  useEffect(() => {
    const stop = new AbortController();
    let connection = new AbortController();
    let lastId: string | null = null;
    let attempt = 0;
    let opened = false;
    const onOffline = () => {
      setLive((l) => ({ ...l, status: 'down', detail: 'This device is offline.' }));
      connection.abort();
    };
    addEventListener('offline', onOffline);

    const online = () => new Promise<void>((resolve) => {
      if (navigator.onLine || stop.signal.aborted) return resolve();
      const done = () => { removeEventListener('online', done); stop.signal.removeEventListener('abort', done); resolve(); };
      addEventListener('online', done);
      stop.signal.addEventListener('abort', done);
    });

    async function run() {
      while (!stop.signal.aborted) {
        connection = new AbortController();
        const signal = AbortSignal.any([stop.signal, connection.signal]);
        try {
          await readEventStream('/v1/usage/stream', lastId, (event) => {
            if (event.id) lastId = event.id;
            if (event.event === 'heartbeat') return;
            let stats: DashboardStats | null = null;
            if (event.event === 'stats') {
              try { stats = JSON.parse(event.data) as DashboardStats; } catch { stats = null; }
            }
            setLive((l) => ({ ...l, status: 'live', tick: l.tick + 1, stats: stats ?? l.stats, detail: null }));
          }, () => {
            // After a reconnect the pages reload what they show: events may have been missed while down.
            const reconnect = opened;
            opened = true;
            attempt = 0;
            setLive((l) => ({ ...l, status: 'live', detail: null, tick: reconnect ? l.tick + 1 : l.tick }));
          }, signal);
          if (stop.signal.aborted) return;
          setLive((l) => ({ ...l, status: 'down', detail: 'The live stream ended; reconnecting…' }));
        } catch (error) {
          if (stop.signal.aborted) return;
          if (error instanceof ApiError && (error.problem.status === 404 || error.problem.status === 405)) {
            setLive((l) => ({ ...l, status: 'unavailable', detail: 'This server has no live stream (GET /v1/usage/stream answered 404).' }));
            return;
          }
          const detail = !navigator.onLine ? 'This device is offline.'
            : error instanceof ApiError ? `The live stream answered ${error.problem.status}; reconnecting…` : 'Connection lost; reconnecting…';
          setLive((l) => ({ ...l, status: 'down', detail }));
        }
        if (!navigator.onLine) {
          await online();
          attempt = 0;
          continue;
        }
        attempt++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(15_000, 500 * 2 ** Math.min(attempt, 5))));
      }
    }

    run();
    return () => { stop.abort(); removeEventListener('offline', onOffline); };
  }, []);

  return live;
}

export function LiveIndicator({ live }: { live: Live }) {
  const text = { connecting: 'Connecting…', live: 'Live', down: 'Disconnected', unavailable: 'Live updates unavailable' }[live.status];
  return (
    <span class={`live is-${live.status}`} role="status" data-testid="live" title={live.detail ?? undefined}>
      <span class="dot" aria-hidden="true" />{text}
    </span>
  );
}
