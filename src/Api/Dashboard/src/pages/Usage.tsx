import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { api, download, noteServerTime, type Query } from '../api';
import { Chart, palette } from '../components/Chart';
import { Badge, describeError, ErrorNote, Widget } from '../components/Widget';
import { bucketLabel, int, money, ms, num, pct, usd, utc } from '../format';
import { type Async, useAsync } from '../hooks';
import { navigate } from '../router';
import type {
  AgentRow, BudgetState, BudgetStatusRow, ChannelRow, Items, ModelMixRow, ModelRow, PeriodItems, UsageMetrics, UserRow,
} from '../types';
import { hasFilters, PeriodError, periods, readFilters, toApiQuery, type UsageFilters, writeFilters } from '../usageQuery';

const get = <T,>(path: string, query: Query) => api.get<T>(path, query);

export function Usage({ params, refresh }: { params: URLSearchParams; refresh: number }) {
  const filters = readFilters(params);
  const key = params.toString();
  const resolved = useAsync(() => toApiQuery(filters), [key]);
  const unfiltered = useAsync(() => toApiQuery(filters, false), [key]);
  const set = (next: Partial<UsageFilters>) => navigate('/usage', writeFilters({ ...filters, ...next }));

  return (
    <>
      <h1>Usage</h1>
      <FilterBar filters={filters} onChange={set} query={unfiltered.data} refresh={refresh} />
      {resolved.error
        ? <p role="alert" class="error">{resolved.error instanceof PeriodError ? resolved.error.message : describeError(resolved.error)}</p>
        : resolved.data && <UsageBody query={resolved.data} filters={filters} refresh={refresh} />}
    </>
  );
}

interface FilterOptions { providers: string[]; models: string[]; agents: string[]; channels: string[] }

function FilterBar({ filters, onChange, query, refresh }: {
  filters: UsageFilters; onChange: (next: Partial<UsageFilters>) => void; query: Query | null; refresh: number;
}) {
  const [from, setFrom] = useState(filters.from);
  const [to, setTo] = useState(filters.to);
  const options = useAsync<FilterOptions>(async () => {
    if (!query) return { providers: [], models: [], agents: [], channels: [] };
    const [mix, agents, channels] = await Promise.all([
      get<PeriodItems<ModelMixRow>>('/v1/usage/model-mix', query).catch(() => ({ items: [] as ModelMixRow[] })),
      get<PeriodItems<AgentRow>>('/v1/usage/by-agent', query).catch(() => ({ items: [] as AgentRow[] })),
      get<PeriodItems<ChannelRow>>('/v1/usage/by-channel', query).catch(() => ({ items: [] as ChannelRow[] })),
    ]);
    const unique = (values: (string | null)[]) => [...new Set(values.filter((v): v is string => !!v))].sort();
    return {
      providers: unique(mix.items.map((i) => i.provider)),
      models: unique(mix.items.map((i) => i.model)),
      agents: unique(agents.items.map((i) => i.agent_id)),
      channels: unique(channels.items.map((i) => i.channel)),
    };
  }, [query], refresh);
  const withSelected = (list: string[] | undefined, selected: string[]) => [...new Set([...(list ?? []), ...selected])].sort();
  const providers = withSelected(options.data?.providers, filters.provider);
  const models = withSelected(options.data?.models, filters.model);
  const agents = withSelected(options.data?.agents, filters.agent ? [filters.agent] : []);
  const channels = withSelected(options.data?.channels, filters.channel ? [filters.channel] : []);
  const toggle = (list: string[], value: string, on: boolean) => on ? [...list, value] : list.filter((v) => v !== value);

  return (
    <form class="card filters" aria-label="Filters" onSubmit={(e) => { e.preventDefault(); onChange({ period: 'custom', from, to }); }}>
      <div class="field">
        <label for="period">Time range</label>
        <select id="period" value={filters.period}
          onChange={(e) => onChange({ period: (e.target as HTMLSelectElement).value })}>
          {periods.map((p) => <option key={p.value} value={p.value}>{p.label}</option>)}
        </select>
      </div>
      {filters.period === 'custom' && (
        <div class="field custom">
          <div><label for="from">First day (UTC)</label>
            <input id="from" type="date" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} /></div>
          <div><label for="to">Last day (UTC)</label>
            <input id="to" type="date" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} /></div>
          <button type="submit">Apply</button>
        </div>
      )}
      <fieldset class="field">
        <legend>Providers</legend>
        {providers.length === 0 && <span class="hint">None in this period</span>}
        {providers.map((p) => (
          <label key={p} class="check"><input type="checkbox" checked={filters.provider.includes(p)}
            onChange={(e) => onChange({ provider: toggle(filters.provider, p, (e.target as HTMLInputElement).checked) })} /> {p}</label>
        ))}
      </fieldset>
      <div class="field">
        <label for="model">Models</label>
        <select id="model" multiple size={Math.min(4, Math.max(2, models.length))}
          onChange={(e) => onChange({ model: [...(e.target as HTMLSelectElement).selectedOptions].map((o) => o.value) })}>
          {models.map((m) => <option key={m} value={m} selected={filters.model.includes(m)}>{m}</option>)}
        </select>
      </div>
      <div class="field">
        <label for="agent">Agent</label>
        <select id="agent" value={filters.agent} onChange={(e) => onChange({ agent: (e.target as HTMLSelectElement).value })}>
          <option value="">All agents</option>
          {agents.map((a) => <option key={a} value={a}>{a}</option>)}
        </select>
      </div>
      <div class="field">
        <label for="channel">Channel</label>
        <select id="channel" value={filters.channel} onChange={(e) => onChange({ channel: (e.target as HTMLSelectElement).value })}>
          <option value="">All channels</option>
          {channels.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
      </div>
      {hasFilters(filters) && (
        <button type="button" class="link" onClick={() => onChange({ provider: [], model: [], agent: '', channel: '' })}>Clear filters</button>
      )}
    </form>
  );
}

function UsageBody({ query, filters, refresh }: { query: Query; filters: UsageFilters; refresh: number }) {
  const hourlyIsMain = filters.period === '1h' || filters.period === '24h';
  const metrics = useAsync(async () => {
    const m = await get<UsageMetrics>('/v1/usage/metrics', query);
    noteServerTime(m.period.to);
    return m;
  }, [query], refresh);
  const hourly = useAsync(() => hourlyIsMain ? Promise.resolve(null) : get<UsageMetrics>('/v1/usage/metrics', { ...query, group_by: 'hour' }), [query], refresh);
  const agents = useAsync(() => get<PeriodItems<AgentRow>>('/v1/usage/by-agent', query), [query], refresh);
  const channels = useAsync(() => get<PeriodItems<ChannelRow>>('/v1/usage/by-channel', query), [query], refresh);
  const users = useAsync(() => get<PeriodItems<UserRow>>('/v1/usage/by-user', { ...query, top: 10 }), [query], refresh);
  const budgets = useAsync(() => api.get<Items<BudgetStatusRow>>('/v1/budgets/status'), [], refresh);
  const noData = (m: UsageMetrics) => m.summary.total_requests === 0;
  const hourlySource: Async<UsageMetrics> = hourlyIsMain ? metrics : (hourly as Async<UsageMetrics>);

  return (
    <>
      <Summary state={metrics} />
      <ExportButtons query={query} />
      <div class="grid two">
        <Widget title="Tokens over time" state={metrics} isEmpty={noData} testId="chart-tokens">
          {(m) => <TokensChart metrics={m} />}
        </Widget>
        <Widget title="Cost by model" state={metrics} isEmpty={noData} testId="chart-cost-by-model">
          {(m) => <CostByModelChart rows={m.by_model} />}
        </Widget>
        <Widget title="Calls by hour of day (UTC)" state={hourlySource} isEmpty={noData} testId="chart-calls-by-hour">
          {(m) => <CallsByHourChart metrics={m} />}
        </Widget>
        <Widget title="Latency p95 trend" state={metrics} isEmpty={(m) => m.time_series.every((p) => p.p95_latency_ms === null)}
          empty="No latency samples for this period" testId="chart-latency">
          {(m) => <LatencyChart metrics={m} />}
        </Widget>
        <Widget title="Tokens and cost per agent" state={agents} isEmpty={(a) => a.items.length === 0} testId="chart-agents">
          {(a) => <AgentChart rows={a.items} />}
        </Widget>
        <Widget title="Cost by provider" state={metrics} isEmpty={(m) => m.by_provider.length === 0} testId="chart-providers">
          {(m) => <ProviderChart rows={m.by_provider} />}
        </Widget>
        <Widget title="Message volume by channel" state={channels} isEmpty={(c) => c.items.length === 0} testId="chart-channels">
          {(c) => <ChannelChart rows={c.items} />}
        </Widget>
        <Widget title="Top 10 users by cost" state={users} isEmpty={(u) => u.items.length === 0} testId="top-users">
          {(u) => <UsersTable rows={u.items} />}
        </Widget>
        <Widget title="By model" state={metrics} isEmpty={(m) => m.by_model.length === 0} wide testId="by-model">
          {(m) => <ModelTable rows={m.by_model} />}
        </Widget>
        <Widget title="Budgets (current period)" state={budgets} isEmpty={(b) => b.items.length === 0}
          empty="No budgets and no activity this month" wide testId="budgets">
          {(b) => <BudgetTable rows={b.items} />}
        </Widget>
      </div>
    </>
  );
}

function Summary({ state }: { state: Async<UsageMetrics> }) {
  if (state.data === null) {
    return state.error ? <ErrorNote error={state.error} />
      : <div class="grid cards" aria-busy="true">{[1, 2, 3, 4, 5].map((i) => <div key={i} class="card skeleton" />)}</div>;
  }
  const { summary, period } = state.data;
  const card = (id: string, title: string, value: string) => (
    <section class="card stat" data-testid={`summary-${id}`} aria-labelledby={`summary-${id}-title`}>
      <h2 id={`summary-${id}-title`}>{title}</h2><p class="value" data-testid={`summary-${id}-value`}>{value}</p>
    </section>
  );
  return (
    <>
      <p class="hint" data-testid="period">{utc(period.from)} – {utc(period.to)} · by {period.group_by}</p>
      {summary.total_requests === 0 && <p class="card empty" data-testid="empty">No usage data for this period</p>}
      <div class="grid cards">
        {card('cost', 'Total cost', usd(summary.total_cost_usd))}
        {card('tokens', 'Total tokens', int(summary.total_tokens))}
        {card('requests', 'Total requests', int(summary.total_requests))}
        {card('sessions', 'Active sessions', int(summary.active_sessions))}
        {card('avg-tokens', 'Avg tokens per call', summary.avg_tokens_per_request === null ? '—' : num(summary.avg_tokens_per_request, 1))}
      </div>
      {state.error && <ErrorNote error={state.error} />}
    </>
  );
}

function ExportButtons({ query }: { query: Query }) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (format: 'csv' | 'json') => {
    setBusy(true);
    setError(null);
    try {
      await download('/v1/usage/export', { ...query, format, level: 'by_model' }, `usage-by-model.${format}`);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="actions">
      <button type="button" disabled={busy} onClick={() => run('csv')}>Export CSV</button>
      <button type="button" disabled={busy} onClick={() => run('json')}>Export JSON</button>
      <span class="hint">The by-model rows for this period and these filters.</span>
      {error && <ErrorNote error={error} />}
    </div>
  );
}

const axisMoney = { ticks: { callback: (v: string | number) => `$${v}` } };

function TokensChart({ metrics }: { metrics: UsageMetrics }) {
  const config = useMemo<ChartConfiguration<'line'>>(() => ({
    type: 'line',
    data: {
      labels: metrics.time_series.map((p) => bucketLabel(p.timestamp, metrics.period.group_by)),
      datasets: [
        { label: 'Input tokens', data: metrics.time_series.map((p) => p.tokens_in), borderColor: palette[0], backgroundColor: palette[0], pointRadius: 0 },
        { label: 'Output tokens', data: metrics.time_series.map((p) => p.tokens_out), borderColor: palette[1], backgroundColor: palette[1], pointRadius: 0 },
      ],
    },
    options: { interaction: { mode: 'index', intersect: false }, scales: { y: { beginAtZero: true } } },
  }), [metrics]);
  return <Chart config={config} label="Tokens over time" summary={`${int(metrics.summary.total_tokens)} tokens in ${metrics.time_series.length} buckets`} />;
}

function CostByModelChart({ rows }: { rows: ModelRow[] }) {
  const config = useMemo<ChartConfiguration<'doughnut'>>(() => ({
    type: 'doughnut',
    data: { labels: rows.map((r) => r.model), datasets: [{ data: rows.map((r) => r.cost_usd), backgroundColor: rows.map((_, i) => palette[i % palette.length]) }] },
    options: { plugins: { legend: { position: 'bottom' } } },
  }), [rows]);
  return <Chart config={config} label="Cost by model" summary={rows.map((r) => `${r.model} ${usd(r.cost_usd)}`).join(', ')} />;
}

function CallsByHourChart({ metrics }: { metrics: UsageMetrics }) {
  const config = useMemo<ChartConfiguration<'bar'>>(() => {
    const hours = new Array<number>(24).fill(0);
    for (const p of metrics.time_series) hours[new Date(p.timestamp).getUTCHours()] += p.requests;
    return {
      type: 'bar',
      data: { labels: hours.map((_, h) => `${String(h).padStart(2, '0')}h`), datasets: [{ label: 'Calls', data: hours, backgroundColor: palette[0] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    };
  }, [metrics]);
  return <Chart config={config} label="Calls by hour of day" summary={`${int(metrics.summary.total_requests)} calls`} />;
}

function LatencyChart({ metrics }: { metrics: UsageMetrics }) {
  const config = useMemo<ChartConfiguration<'line'>>(() => ({
    type: 'line',
    data: {
      labels: metrics.time_series.map((p) => bucketLabel(p.timestamp, metrics.period.group_by)),
      datasets: [{ label: 'p95 latency (ms)', data: metrics.time_series.map((p) => p.p95_latency_ms), borderColor: palette[3], backgroundColor: palette[3], spanGaps: true, pointRadius: 2 }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { callback: (v) => `${v} ms` } } } },
  }), [metrics]);
  return <Chart config={config} label="Latency p95 trend" summary="p95 latency per bucket in milliseconds" />;
}

function AgentChart({ rows }: { rows: AgentRow[] }) {
  const config = useMemo<ChartConfiguration<'bar'>>(() => ({
    type: 'bar',
    data: {
      labels: rows.map((r) => r.agent_id ?? '(no agent)'),
      datasets: [
        { label: 'Tokens', data: rows.map((r) => r.total_tokens), backgroundColor: palette[0], yAxisID: 'y' },
        { label: 'Cost (USD)', data: rows.map((r) => r.cost_usd), backgroundColor: palette[1], yAxisID: 'cost' },
      ],
    },
    options: { scales: { y: { beginAtZero: true, position: 'left' }, cost: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, ...axisMoney } } },
  }), [rows]);
  return (
    <>
      <Chart config={config} label="Tokens and cost per agent" summary={rows.map((r) => `${r.agent_id ?? 'no agent'} ${usd(r.cost_usd)}`).join(', ')} />
      <div class="scroll"><table class="compact">
        <caption class="sr-only">Cost per agent</caption>
        <thead><tr><th scope="col">Agent</th><th scope="col">Calls</th><th scope="col">Tokens</th><th scope="col">Cost</th><th scope="col">Budget</th></tr></thead>
        <tbody>{rows.map((r) => (
          <tr key={r.agent_id ?? ''}><td>{r.agent_id ?? '(no agent)'}</td><td>{int(r.llm_call_count)}</td><td>{int(r.total_tokens)}</td>
            <td>{usd(r.cost_usd)}</td><td><BudgetBadge state={r.budget_status} percent={r.budget_used_pct} /></td></tr>
        ))}</tbody>
      </table></div>
    </>
  );
}

function ProviderChart({ rows }: { rows: { provider: string; cost_usd: number }[] }) {
  const config = useMemo<ChartConfiguration<'bar'>>(() => ({
    type: 'bar',
    data: { labels: rows.map((r) => r.provider), datasets: [{ label: 'Cost (USD)', data: rows.map((r) => r.cost_usd), backgroundColor: rows.map((_, i) => palette[i % palette.length]) }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ...axisMoney } } },
  }), [rows]);
  return <Chart config={config} label="Cost by provider" summary={rows.map((r) => `${r.provider} ${usd(r.cost_usd)}`).join(', ')} />;
}

function ChannelChart({ rows }: { rows: ChannelRow[] }) {
  const config = useMemo<ChartConfiguration<'bar'>>(() => ({
    type: 'bar',
    data: { labels: rows.map((r) => r.channel ?? '(none)'), datasets: [{ label: 'Messages', data: rows.map((r) => r.message_count), backgroundColor: palette[2] }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  }), [rows]);
  return <Chart config={config} label="Message volume by channel" summary={rows.map((r) => `${r.channel ?? 'none'} ${int(r.message_count)}`).join(', ')} />;
}

function UsersTable({ rows }: { rows: UserRow[] }) {
  return (
    <table>
      <caption class="sr-only">Top users by cost</caption>
      <thead><tr><th scope="col">User</th><th scope="col">Calls</th><th scope="col">Tokens</th><th scope="col">Cost</th></tr></thead>
      <tbody>{rows.map((r) => <tr key={r.user_id}><td>{r.user_id}</td><td>{int(r.requests)}</td><td>{int(r.total_tokens)}</td><td>{usd(r.cost_usd)}</td></tr>)}</tbody>
    </table>
  );
}

type ModelColumn = keyof ModelRow;
const modelColumns: { key: ModelColumn; label: string; numeric: boolean; show: (r: ModelRow) => string }[] = [
  { key: 'model', label: 'Model', numeric: false, show: (r) => r.model },
  { key: 'provider', label: 'Provider', numeric: false, show: (r) => r.provider },
  { key: 'requests', label: 'Calls', numeric: true, show: (r) => int(r.requests) },
  { key: 'tokens_in', label: 'Input tokens', numeric: true, show: (r) => int(r.tokens_in) },
  { key: 'tokens_out', label: 'Output tokens', numeric: true, show: (r) => int(r.tokens_out) },
  { key: 'cost_usd', label: 'Cost', numeric: true, show: (r) => usd(r.cost_usd) },
  { key: 'avg_latency_ms', label: 'Avg latency', numeric: true, show: (r) => ms(r.avg_latency_ms) },
  { key: 'p95_latency_ms', label: 'p95 latency', numeric: true, show: (r) => ms(r.p95_latency_ms) },
];

function ModelTable({ rows }: { rows: ModelRow[] }) {
  const [sort, setSort] = useState<{ key: ModelColumn; descending: boolean }>({ key: 'cost_usd', descending: true });
  const [filter, setFilter] = useState('');
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const kept = rows.filter((r) => !needle || r.model.toLowerCase().includes(needle) || r.provider.toLowerCase().includes(needle));
    return [...kept].sort((a, b) => {
      const x = a[sort.key];
      const y = b[sort.key];
      const order = typeof x === 'number' || typeof y === 'number'
        ? (Number(x ?? -Infinity) - Number(y ?? -Infinity))
        : String(x).localeCompare(String(y));
      return sort.descending ? -order : order;
    });
  }, [rows, sort, filter]);
  return (
    <>
      <div class="field inline">
        <label for="model-filter">Filter models</label>
        <input id="model-filter" type="search" value={filter} placeholder="model or provider"
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
      </div>
      <div class="scroll">
        <table data-testid="model-table">
          <caption class="sr-only">Usage by model; select a column heading to sort</caption>
          <thead><tr>{modelColumns.map((c) => (
            <th key={c.key} scope="col" class={c.numeric ? 'num' : ''}
              aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
              <button type="button" class="sort" onClick={() => setSort((s) => ({ key: c.key, descending: s.key === c.key ? !s.descending : c.numeric }))}>
                {c.label}<span aria-hidden="true">{sort.key === c.key ? (sort.descending ? ' ▼' : ' ▲') : ''}</span>
              </button>
            </th>
          ))}</tr></thead>
          <tbody>{shown.map((r) => (
            <tr key={`${r.provider}/${r.model}`}>{modelColumns.map((c) => <td key={c.key} class={c.numeric ? 'num' : ''}>{c.show(r)}</td>)}</tr>
          ))}</tbody>
        </table>
      </div>
      {shown.length === 0 && <p class="empty">No model matches “{filter}”.</p>}
    </>
  );
}

const budgetText: Record<BudgetState, string> = {
  ok: 'OK', warning: '80%+ of budget used', exceeded: 'Budget exceeded', no_limit: 'No limit set',
};
const budgetTone = { ok: 'ok', warning: 'warning', exceeded: 'critical', no_limit: 'none' } as const;

function BudgetBadge({ state, percent }: { state: BudgetState; percent: number | null }) {
  return <Badge tone={budgetTone[state]}>{budgetText[state]}{percent !== null && state !== 'no_limit' ? ` (${pct(percent, 0)})` : ''}</Badge>;
}

function BudgetTable({ rows }: { rows: BudgetStatusRow[] }) {
  return (
    <div class="scroll">
      <table data-testid="budget-table">
        <caption class="sr-only">Budgets and what is spent in their current period</caption>
        <thead><tr><th scope="col">Scope</th><th scope="col">Id</th><th scope="col">Period</th><th scope="col" class="num">Spent</th>
          <th scope="col" class="num">Limit</th><th scope="col">Status</th></tr></thead>
        <tbody>{rows.map((r) => (
          <tr key={`${r.scope}/${r.id}/${r.period ?? ''}`}>
            <td>{r.scope}</td><td>{r.id}</td><td>{r.period ?? '—'}{r.period_start ? ` from ${r.period_start}` : ''}</td>
            <td class="num">{money(r.current_cost_usd, 'USD')}</td><td class="num">{r.limit_usd === null ? '—' : usd(r.limit_usd)}</td>
            <td><BudgetBadge state={r.status} percent={r.percent} /></td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}
