import { api, knowsServerTime, noteServerTime, type Query, serverNow } from './api';
import type { UsageMetrics } from './types';

// The Usage page's state lives in the URL (#/usage?period=7d&provider=anthropic&model=a&model=b): shareable links.

export const periods = [
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
  { value: 'this_month', label: 'This month' },
  { value: '3mo', label: 'Last 3 months' },
  { value: 'custom', label: 'Custom…' },
] as const;

export const defaultPeriod = '30d';

export interface UsageFilters {
  period: string;
  from: string; // custom: first UTC day (YYYY-MM-DD), inclusive
  to: string;   // custom: last UTC day, inclusive
  provider: string[];
  model: string[];
  agent: string;
  channel: string;
}

export function readFilters(params: URLSearchParams): UsageFilters {
  const period = params.get('period') ?? defaultPeriod;
  return {
    period: periods.some((p) => p.value === period) ? period : defaultPeriod,
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    provider: params.getAll('provider'),
    model: params.getAll('model'),
    agent: params.get('agent') ?? '',
    channel: params.get('channel') ?? '',
  };
}

export function writeFilters(filters: UsageFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.period !== defaultPeriod) params.set('period', filters.period);
  if (filters.period === 'custom') {
    if (filters.from) params.set('from', filters.from);
    if (filters.to) params.set('to', filters.to);
  }
  filters.provider.forEach((p) => params.append('provider', p));
  filters.model.forEach((m) => params.append('model', m));
  if (filters.agent) params.set('agent', filters.agent);
  if (filters.channel) params.set('channel', filters.channel);
  return params;
}

export function hasFilters(filters: UsageFilters): boolean {
  return filters.provider.length > 0 || filters.model.length > 0 || filters.agent !== '' || filters.channel !== '';
}

/** Learns the server's clock once (relative periods the Api does not name are computed from it). */
async function ensureServerTime(): Promise<void> {
  if (knowsServerTime()) return;
  try {
    const metrics = await api.get<UsageMetrics>('/v1/usage/metrics', { period: '1h' });
    noteServerTime(metrics.period.to);
  } catch {
    // Fall back to this device's clock.
  }
}

export class PeriodError extends Error {}

/** The Api query for these filters: the same object drives every widget and the exports. */
export async function toApiQuery(filters: UsageFilters, withFilters = true): Promise<Query> {
  const query: Query = {};
  if (filters.period === '3mo') {
    await ensureServerTime();
    const to = serverNow();
    const from = new Date(to);
    from.setUTCMonth(from.getUTCMonth() - 3);
    Object.assign(query, { period: 'custom', from: from.toISOString(), to: to.toISOString() });
  } else if (filters.period === 'custom') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(filters.from) || !/^\d{4}-\d{2}-\d{2}$/.test(filters.to)) {
      throw new PeriodError('Choose the first and last day of the custom range.');
    }
    const from = new Date(`${filters.from}T00:00:00Z`);
    const to = new Date(`${filters.to}T00:00:00Z`);
    to.setUTCDate(to.getUTCDate() + 1);
    if (!(from < to)) throw new PeriodError('The first day must not be after the last day.');
    Object.assign(query, { period: 'custom', from: from.toISOString(), to: to.toISOString() });
  } else {
    query.period = filters.period;
  }
  if (withFilters) {
    Object.assign(query, {
      provider: filters.provider, model: filters.model,
      agent_id: filters.agent || undefined, channel: filters.channel || undefined,
    });
  }
  return query;
}
