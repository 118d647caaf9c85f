// The wire shapes the dashboard reads (docs/api.md; the cross-module contract). snake_case as on the wire.

export type Status = 'ok' | 'warning' | 'critical';

export interface DashboardStats {
  as_of: string;
  day: string;
  dau: { today: number; yesterday: number; delta_pct: number | null; fell_two_days: boolean; status: Status };
  cost_today: {
    usd: number; yesterday_usd: number; delta_pct: number | null; daily_budget_usd: number | null;
    budget_used_pct: number | null; cost_per_active_user_usd: number | null; currency: string; rate: number;
    amount: number; yesterday_amount: number; daily_budget_amount: number | null; cost_per_active_user_amount: number | null;
    status: Status;
  };
  errors_24h: { total: number; critical: number; threshold: number; status: Status };
  latency_p95: { today_s: number | null; yesterday_s: number | null; change_s: number | null; slo_s: number; status: Status };
  ttft_p95: { today_ms: number | null; goal_ms: number; red_ms: number; status: Status };
  feedback_24h: { up: number; down: number; ratio: number | null; goal: number; red_below: number; status: Status };
}

export interface PeriodInfo { name: string; from: string; to: string; group_by: string }

export interface UsageSummary {
  total_tokens: number; tokens_in: number; tokens_out: number; total_cost_usd: number; total_requests: number;
  avg_tokens_per_request: number | null; avg_cost_per_request: number | null; errors: number; active_users: number;
  active_sessions: number;
}

export interface TimePoint {
  timestamp: string; tokens: number; tokens_in: number; tokens_out: number; cost_usd: number; requests: number;
  errors: number; p95_latency_ms: number | null;
}

export interface ModelRow {
  model: string; provider: string; requests: number; tokens_in: number; tokens_out: number; cost_usd: number;
  avg_latency_ms: number | null; p95_latency_ms: number | null;
}

export interface ProviderRow { provider: string; tokens: number; cost_usd: number; requests: number }

export interface UsageMetrics {
  period: PeriodInfo;
  summary: UsageSummary;
  time_series: TimePoint[];
  by_model: ModelRow[];
  by_provider: ProviderRow[];
}

export interface AgentRow {
  agent_id: string | null; tokens_in: number; tokens_out: number; total_tokens: number; cost_usd: number;
  llm_call_count: number; budget_limit_usd: number | null; budget_period: string | null; budget_used_pct: number | null;
  budget_status: BudgetState;
}

export interface ChannelRow { channel: string | null; message_count: number; tokens: number; cost_usd: number }

export interface UserRow {
  user_id: string; requests: number; tokens_in: number; tokens_out: number; total_tokens: number; cost_usd: number; errors: number;
}

export interface ModelMixRow { model: string; provider: string; requests: number; requests_pct: number; cost_usd: number; cost_pct: number }

export interface Items<T> { items: T[] }
export interface PeriodItems<T> { period: PeriodInfo; items: T[] }

export type BudgetState = 'ok' | 'warning' | 'exceeded' | 'no_limit';

export interface BudgetStatusRow {
  scope: 'tenant' | 'agent' | 'user'; id: string; period: 'day' | 'month' | null; period_start: string | null;
  period_end: string | null; limit_usd: number | null; warning_pct: number | null; current_cost_usd: number;
  percent: number | null; status: BudgetState;
}

export interface Flag {
  key: string; kind: string; scope: string; value: unknown; status: 'on' | 'off' | 'expired'; reason: string;
  set_by: string; set_at: string; expires_at: string | null; change_id: number;
}

export interface FlagHistoryEntry {
  change_id: number; key: string; scope: string; action: string; actor: string; at: string; reason: string;
}

export interface KillCheck {
  killed: boolean; reason: string | null; scope: string | null; flag: string | null; read_only: boolean;
  read_only_reason: string | null; stale: boolean; checked_at: string;
}

export interface Alert {
  id: string | number; key: string; rule: string; entity_type: string | null; entity_id: string | null;
  state: 'firing' | 'resolved'; message: string; value: number | null; threshold: number | null; fired_at: string;
  resolved_at: string | null; snoozed: boolean; notified_channels: string[];
}

export interface AlertRule {
  key: string; description: string; enabled: boolean; threshold: number | null; window_minutes: number | null;
  min_ratings: number | null;
}

export interface Snooze {
  key: string; until: string; reason: string; snoozed_by: string; snoozed_at: string; follow_up_note: string | null;
  needs_follow_up: boolean;
}

export interface AuditEvent {
  ts: string; user_id: string; request_id: string; action: string; status?: string | null; actor?: string | null;
  [field: string]: unknown;
}
