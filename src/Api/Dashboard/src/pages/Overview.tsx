import type { ComponentChildren } from 'preact';
import { api, noteServerTime, takePrefetched } from '../api';
import { ErrorNote } from '../components/Widget';
import { money, int, num, pct, signedPct, usd, utc } from '../format';
import { useAsync } from '../hooks';
import type { Live } from '../live';
import type { DashboardStats, Status } from '../types';

const statusWord: Record<Status, string> = { ok: 'OK', warning: 'Warning', critical: 'Critical' };

function StatCard({ id, title, status, value, children }: { id: string; title: string; status: Status; value: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class={`card stat ${status}`} data-testid={`card-${id}`} data-status={status} aria-labelledby={`stat-${id}`}>
      <h2 id={`stat-${id}`}>{title}</h2>
      <p class="value" data-testid={`value-${id}`}>{value}</p>
      <div class="compare">{children}</div>
      <p class={`status-word ${status}`}>{statusWord[status]}</p>
    </section>
  );
}

export function Overview({ live }: { live: Live }) {
  const fetched = useAsync(async () => {
    const stats = await (takePrefetched<DashboardStats>('/v1/dashboard/stats') ?? api.get<DashboardStats>('/v1/dashboard/stats'));
    noteServerTime(stats.as_of);
    return stats;
  }, [], live.stats ? 0 : live.tick);
  const stats = live.stats && (!fetched.data || live.stats.as_of >= fetched.data.as_of) ? live.stats : fetched.data;

  if (!stats) {
    return (
      <>
        <h1>Overview</h1>
        {fetched.error ? <ErrorNote error={fetched.error} /> : (
          <div class="grid cards" aria-busy="true">{[1, 2, 3, 4, 5, 6].map((i) => <div key={i} class="card skeleton" />)}</div>
        )}
      </>
    );
  }

  const { dau, cost_today: cost, errors_24h: errors, latency_p95: latency, ttft_p95: ttft, feedback_24h: feedback } = stats;
  const foreign = cost.currency !== 'USD';
  return (
    <>
      <h1>Overview</h1>
      <p class="hint">Today ({stats.day}, UTC) as of {utc(stats.as_of)}.</p>
      <div class="grid cards">
        <StatCard id="dau" title="Daily active users" status={dau.status} value={int(dau.today)}>
          <p>{signedPct(dau.delta_pct)} vs yesterday ({int(dau.yesterday)})</p>
          {dau.fell_two_days && <p>Fell two days in a row</p>}
        </StatCard>
        <StatCard id="cost" title="Cost today" status={cost.status}
          value={<>{money(cost.amount, cost.currency)}{foreign && <span class="usd"> ({usd(cost.usd)})</span>}</>}>
          <p>{signedPct(cost.delta_pct)} vs yesterday ({money(cost.yesterday_amount, cost.currency)}{foreign && ` · ${usd(cost.yesterday_usd)}`})</p>
          <p>{cost.daily_budget_usd === null ? 'No daily budget set'
            : <>{pct(cost.budget_used_pct)} of the daily budget ({money(cost.daily_budget_amount, cost.currency)}{foreign && ` · ${usd(cost.daily_budget_usd)}`})</>}</p>
          {cost.cost_per_active_user_usd !== null && <p>{money(cost.cost_per_active_user_amount, cost.currency)} per active user</p>}
        </StatCard>
        <StatCard id="errors" title="Errors (24 h)" status={errors.status} value={int(errors.total)}>
          <p>{int(errors.critical)} critical · threshold {int(errors.threshold)}</p>
        </StatCard>
        <StatCard id="latency" title="Latency p95" status={latency.status}
          value={latency.today_s === null ? 'No data' : `${num(latency.today_s)} s`}>
          <p>{latency.change_s === null ? 'No data yesterday' : `${latency.change_s > 0 ? '+' : ''}${num(latency.change_s)} s vs yesterday (${num(latency.yesterday_s)} s)`}</p>
          <p>SLO {num(latency.slo_s)} s</p>
        </StatCard>
        <StatCard id="ttft" title="Time to first token p95" status={ttft.status}
          value={ttft.today_ms === null ? 'No data' : `${int(ttft.today_ms)} ms`}>
          <p>Goal {int(ttft.goal_ms)} ms · red above {int(ttft.red_ms)} ms</p>
        </StatCard>
        <StatCard id="feedback" title="Thumbs up (24 h)" status={feedback.status}
          value={feedback.ratio === null ? 'No ratings' : pct(feedback.ratio * 100, 0)}>
          <p>{int(feedback.up)} up · {int(feedback.down)} down</p>
          <p>Goal {pct(feedback.goal * 100, 0)} · red below {pct(feedback.red_below * 100, 0)}</p>
        </StatCard>
      </div>
      {fetched.error && <ErrorNote error={fetched.error} />}
    </>
  );
}
