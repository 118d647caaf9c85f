import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, type Query } from '../api';
import { Badge, ErrorNote, Widget } from '../components/Widget';
import { num, utc } from '../format';
import { useAsync } from '../hooks';
import type { Alert, AlertRule, AuditEvent, Flag, FlagHistoryEntry, Items, KillCheck, Snooze } from '../types';

/** Runs an operator action, keeping its error on screen and refreshing the panel after success. */
function useAction(after: () => void) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      after();
      return true;
    } catch (e) {
      setError(e as Error);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

/** A datetime-local value (read as UTC) → RFC 3339, or undefined when empty. */
function utcInput(value: string): string | undefined {
  return value ? new Date(`${value}:00Z`).toISOString() : undefined;
}

export function Operations({ isAdmin, refresh }: { isAdmin: boolean; refresh: number }) {
  return (
    <>
      <h1>Operations</h1>
      {!isAdmin && <p class="hint" data-testid="read-only-note">Read-only key: operator controls need an admin key.</p>}
      <div class="grid two">
        {isAdmin ? <KillSwitchPanel /> : <KillSwitchStatus refresh={refresh} />}
        <AlertsPanel isAdmin={isAdmin} />
        <AuditPanel />
      </div>
    </>
  );
}

function KillSwitchStatus({ refresh }: { refresh: number }) {
  const check = useAsync(() => api.get<KillCheck>('/v1/killswitch/check'), [], refresh);
  return (
    <Widget title="Kill switch" state={check} testId="killswitch-status">
      {(c) => (
        <p>{c.killed ? <Badge tone="critical">Halted</Badge> : <Badge tone="ok">Running</Badge>} {c.reason ?? ''}
          {c.read_only && <> <Badge tone="warning">Read-only</Badge> {c.read_only_reason}</>}</p>
      )}
    </Widget>
  );
}

function KillSwitchPanel() {
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  const flags = useAsync(() => api.get<Items<Flag>>('/v1/admin/flags'), [], version);
  const killall = flags.data?.items.find((f) => f.key === 'killall' && f.status === 'on');
  const readOnly = flags.data?.items.find((f) => f.key === 'read_only' && f.status === 'on');
  const blocks = flags.data?.items.filter((f) => f.key !== 'killall' && f.key !== 'read_only') ?? [];
  return (
    <section class="card widget" aria-labelledby="ks-title" data-testid="killswitch">
      <h2 id="ks-title">Kill switch</h2>
      {flags.error && <ErrorNote error={flags.error} />}
      {flags.data === null && flags.loading && <div class="skeleton" aria-busy="true" />}
      {flags.data && (
        <>
          <HaltControl killall={killall} onDone={reload} />
          <ReadOnlyControl flag={readOnly} onDone={reload} />
          <BlockForm onDone={reload} />
          <h3>Flags</h3>
          {blocks.length === 0 ? <p class="empty">No blocks or feature flags.</p> : <FlagTable flags={blocks} onDone={reload} />}
        </>
      )}
    </section>
  );
}

function HaltControl({ killall, onDone }: { killall: Flag | undefined; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [confirm, setConfirm] = useState('');
  const action = useAction(() => { setReason(''); setConfirm(''); onDone(); });
  if (killall) {
    return (
      <div class="halt on" data-testid="halted">
        <p><Badge tone="critical">Everything is halted</Badge> since {utc(killall.set_at)} by {killall.set_by}: {killall.reason}</p>
        <form onSubmit={(e) => { e.preventDefault(); action.run(() => api.delete('/v1/admin/flags/killall', { reason })); }}>
          <label for="resume-reason">Reason for resuming</label>
          <input id="resume-reason" required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
          <button type="submit" disabled={action.busy || !reason.trim()}>Resume everything</button>
        </form>
        {action.error && <ErrorNote error={action.error} />}
      </div>
    );
  }
  return (
    <form class="halt" onSubmit={(e) => { e.preventDefault(); action.run(() => api.put('/v1/admin/flags/killall', { value: true, reason })); }}>
      <h3>Halt everything</h3>
      <p class="hint">Every agent of this tenant stops at its next check. Type HALT to confirm.</p>
      <label for="halt-reason">Reason for halting (shown to agents)</label>
      <input id="halt-reason" required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <label for="halt-confirm">Type HALT to confirm</label>
      <input id="halt-confirm" autocomplete="off" value={confirm} onInput={(e) => setConfirm((e.target as HTMLInputElement).value)} />
      <button type="submit" class="danger" disabled={action.busy || confirm !== 'HALT' || !reason.trim()}>Halt everything</button>
      {action.error && <ErrorNote error={action.error} />}
    </form>
  );
}

function ReadOnlyControl({ flag, onDone }: { flag: Flag | undefined; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const action = useAction(() => { setReason(''); onDone(); });
  const on = !!flag;
  return (
    <form class="subpanel" onSubmit={(e) => {
      e.preventDefault();
      action.run(() => on ? api.delete('/v1/admin/flags/read_only', { reason }) : api.put('/v1/admin/flags/read_only', { value: true, reason }));
    }}>
      <h3>Read-only mode</h3>
      <p>{on ? <><Badge tone="warning">On</Badge> {flag.reason} (by {flag.set_by})</> : <Badge tone="ok">Off</Badge>}</p>
      <label for="ro-reason">Reason for the read-only change</label>
      <input id="ro-reason" required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <button type="submit" disabled={action.busy || !reason.trim()}>{on ? 'Turn read-only off' : 'Turn read-only on'}</button>
      {action.error && <ErrorNote error={action.error} />}
    </form>
  );
}

function BlockForm({ onDone }: { onDone: () => void }) {
  const [kind, setKind] = useState('user');
  const [id, setId] = useState('');
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState('');
  const action = useAction(() => { setId(''); setReason(''); setExpires(''); onDone(); });
  return (
    <form class="subpanel block" onSubmit={(e) => {
      e.preventDefault();
      action.run(() => api.put(`/v1/admin/flags/kill:${kind}:${encodeURIComponent(id.trim())}`, { value: true, reason, expires_at: utcInput(expires) }));
    }}>
      <h3>Block a user, agent or model</h3>
      <div class="row">
        <div><label for="block-kind">Kind</label>
          <select id="block-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
            <option value="user">User</option><option value="agent">Agent</option><option value="model">Model</option>
          </select></div>
        <div><label for="block-id">Id</label>
          <input id="block-id" required value={id} onInput={(e) => setId((e.target as HTMLInputElement).value)} /></div>
      </div>
      <label for="block-reason">Reason for the block (shown to agents)</label>
      <input id="block-reason" required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <label for="block-expires">Expires (UTC, optional)</label>
      <input id="block-expires" type="datetime-local" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} />
      <button type="submit" disabled={action.busy || !id.trim() || !reason.trim()}>Block</button>
      {action.error && <ErrorNote error={action.error} />}
    </form>
  );
}

function FlagTable({ flags, onDone }: { flags: Flag[]; onDone: () => void }) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <div class="scroll">
      <table data-testid="flag-table">
        <caption class="sr-only">Flags of this tenant</caption>
        <thead><tr><th scope="col">Flag</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Set</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
        <tbody>{flags.map((f) => (
          <Fragment key={f.key}>
            <tr>
              <td><code>{f.key}</code></td>
              <td><Badge tone={f.status === 'on' ? 'critical' : 'none'}>{f.status}</Badge></td>
              <td>{f.reason}</td><td>{utc(f.set_at)} by {f.set_by}</td><td>{utc(f.expires_at)}</td>
              <td><button type="button" class="link" aria-expanded={open === f.key} onClick={() => setOpen(open === f.key ? null : f.key)}>
                {open === f.key ? 'Close' : 'History / clear'}<span class="sr-only"> {f.key}</span></button></td>
            </tr>
            {open === f.key && <tr><td colSpan={6}><FlagDetail flag={f} onDone={() => { setOpen(null); onDone(); }} /></td></tr>}
          </Fragment>
        ))}</tbody>
      </table>
    </div>
  );
}

function FlagDetail({ flag, onDone }: { flag: Flag; onDone: () => void }) {
  const history = useAsync(() => api.get<Items<FlagHistoryEntry>>(`/v1/admin/flags/${encodeURIComponent(flag.key)}/history`, { limit: 20 }), [flag.key, flag.change_id]);
  const [reason, setReason] = useState('');
  const action = useAction(onDone);
  const id = `clear-${flag.change_id}`;
  return (
    <div class="detail">
      <form class="row" onSubmit={(e) => { e.preventDefault(); action.run(() => api.delete(`/v1/admin/flags/${encodeURIComponent(flag.key)}`, { reason })); }}>
        <div><label for={id}>Reason for clearing {flag.key}</label>
          <input id={id} required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} /></div>
        <button type="submit" disabled={action.busy || !reason.trim()}>Clear {flag.key.startsWith('kill:') ? '(unblock)' : ''}</button>
      </form>
      {action.error && <ErrorNote error={action.error} />}
      <h4>History</h4>
      {history.error && <ErrorNote error={history.error} />}
      {history.data && (
        <ul class="history">{history.data.items.map((h) => (
          <li key={h.change_id}>{utc(h.at)} · <strong>{h.action}</strong> by {h.actor}: {h.reason}</li>
        ))}</ul>
      )}
    </div>
  );
}

function AlertsPanel({ isAdmin }: { isAdmin: boolean }) {
  const [state, setState] = useState<'firing' | 'resolved'>('firing');
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  const alerts = useAsync(() => api.get<Items<Alert>>('/v1/alerts', { state, limit: 50 }), [state], version);
  const snoozes = useAsync(() => api.get<Items<Snooze>>('/v1/alerts/snoozes'), [], version);
  const rules = useAsync(() => api.get<Items<AlertRule>>('/v1/alerts/rules'), [], version);
  const snoozeOf = (alert: Alert) => snoozes.data?.items.find((s) => s.key === alert.key || s.key === alert.rule);
  return (
    <section class="card widget" aria-labelledby="alerts-title" data-testid="alerts">
      <h2 id="alerts-title">Alerts</h2>
      <div class="field inline">
        <label for="alert-state">Show</label>
        <select id="alert-state" value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value as 'firing' | 'resolved')}>
          <option value="firing">Firing</option><option value="resolved">Resolved</option>
        </select>
      </div>
      {alerts.error && <ErrorNote error={alerts.error} />}
      {alerts.data === null && alerts.loading && <div class="skeleton" aria-busy="true" />}
      {alerts.data && (alerts.data.items.length === 0
        ? <p class="empty">No {state} alerts.</p>
        : <ul class="alerts">{alerts.data.items.map((a) => (
            <AlertItem key={a.id} alert={a} snooze={snoozeOf(a)} isAdmin={isAdmin} onDone={reload} />
          ))}</ul>)}
      <h3>Rules</h3>
      {rules.error && <ErrorNote error={rules.error} />}
      {rules.data && <RulesTable rules={rules.data.items} isAdmin={isAdmin} onDone={reload} />}
    </section>
  );
}

function AlertItem({ alert, snooze, isAdmin, onDone }: { alert: Alert; snooze: Snooze | undefined; isAdmin: boolean; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [hours, setHours] = useState('4');
  const [reason, setReason] = useState('');
  const action = useAction(() => { setOpen(false); setReason(''); onDone(); });
  const snoozed = alert.snoozed || !!snooze;
  const snoozeKey = snooze?.key ?? alert.key;
  const base = `snooze-${String(alert.id)}`;
  return (
    <li class="alert" data-testid={`alert-${alert.key}`}>
      <p><Badge tone={alert.state === 'firing' ? 'critical' : 'ok'}>{alert.state}</Badge>{' '}
        {snoozed && <Badge tone="none">Snoozed{snooze ? ` until ${utc(snooze.until)}` : ''}</Badge>}{' '}
        <strong>{alert.key}</strong></p>
      <p>{alert.message}{alert.value !== null ? ` (value ${num(alert.value)}, threshold ${num(alert.threshold)})` : ''}</p>
      <p class="hint">Fired {utc(alert.fired_at)}{alert.resolved_at ? ` · resolved ${utc(alert.resolved_at)}` : ''}
        {snooze ? ` · snoozed by ${snooze.snoozed_by}: ${snooze.reason}` : ''}</p>
      {isAdmin && snoozed && (
        <button type="button" disabled={action.busy} onClick={() => action.run(() => api.delete(`/v1/alerts/${encodeURIComponent(snoozeKey)}/snooze`, { reason: 'unsnoozed from the dashboard' }))}>
          Unsnooze<span class="sr-only"> {alert.key}</span></button>
      )}
      {isAdmin && !snoozed && !open && <button type="button" onClick={() => setOpen(true)}>Snooze<span class="sr-only"> {alert.key}</span></button>}
      {isAdmin && open && (
        <form class="row" onSubmit={(e) => { e.preventDefault(); action.run(() => api.post(`/v1/alerts/${encodeURIComponent(alert.key)}/snooze`, { hours: Number(hours), reason })); }}>
          <div><label for={`${base}-hours`}>Hours</label>
            <input id={`${base}-hours`} type="number" min="1" max="720" required value={hours} onInput={(e) => setHours((e.target as HTMLInputElement).value)} /></div>
          <div><label for={`${base}-reason`}>Reason</label>
            <input id={`${base}-reason`} required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} /></div>
          <button type="submit" disabled={action.busy || !reason.trim()}>Confirm snooze</button>
          <button type="button" class="link" onClick={() => setOpen(false)}>Cancel</button>
        </form>
      )}
      {action.error && <ErrorNote error={action.error} />}
    </li>
  );
}

function RulesTable({ rules, isAdmin, onDone }: { rules: AlertRule[]; isAdmin: boolean; onDone: () => void }) {
  return (
    <div class="scroll">
      <table data-testid="rules-table">
        <caption class="sr-only">Alert rules and thresholds</caption>
        <thead><tr><th scope="col">Rule</th><th scope="col">Enabled</th><th scope="col" class="num">Threshold</th><th scope="col" class="num">Window</th>{isAdmin && <th scope="col">Change</th>}</tr></thead>
        <tbody>{rules.map((r) => <RuleRow key={r.key} rule={r} isAdmin={isAdmin} onDone={onDone} />)}</tbody>
      </table>
    </div>
  );
}

function RuleRow({ rule, isAdmin, onDone }: { rule: AlertRule; isAdmin: boolean; onDone: () => void }) {
  const [threshold, setThreshold] = useState(rule.threshold === null ? '' : String(rule.threshold));
  const [enabled, setEnabled] = useState(rule.enabled);
  const action = useAction(onDone);
  const id = `rule-${rule.key}`;
  return (
    <tr>
      <td><strong>{rule.key}</strong><br /><span class="hint">{rule.description}</span>{action.error && <ErrorNote error={action.error} />}</td>
      <td>{isAdmin
        ? <input type="checkbox" aria-label={`${rule.key} enabled`} checked={enabled} onChange={(e) => setEnabled((e.target as HTMLInputElement).checked)} />
        : rule.enabled ? 'yes' : 'no'}</td>
      <td class="num">{isAdmin
        ? <input id={`${id}-threshold`} aria-label={`${rule.key} threshold`} type="number" step="any" class="narrow" value={threshold}
            onInput={(e) => setThreshold((e.target as HTMLInputElement).value)} />
        : num(rule.threshold)}</td>
      <td class="num">{rule.window_minutes === null ? '—' : `${rule.window_minutes} min`}</td>
      {isAdmin && <td><button type="button" disabled={action.busy} onClick={() => action.run(() => api.put(`/v1/alerts/rules/${encodeURIComponent(rule.key)}`, {
        enabled, threshold: threshold === '' ? null : Number(threshold), window_minutes: rule.window_minutes, min_ratings: rule.min_ratings,
      }))}>Save<span class="sr-only"> {rule.key}</span></button></td>}
    </tr>
  );
}

interface AuditFilters { from: string; to: string; action: string; user_id: string; status: string }
const emptyAudit: AuditFilters = { from: '', to: '', action: '', user_id: '', status: '' };
const auditPage = 25;

function AuditPanel() {
  const [draft, setDraft] = useState<AuditFilters>(emptyAudit);
  const [filters, setFilters] = useState<AuditFilters>(emptyAudit);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const query: Query = {
    from: utcInput(filters.from), to: utcInput(filters.to), action: filters.action || undefined,
    user_id: filters.user_id || undefined, status: filters.status || undefined, limit: auditPage, cursor,
  };
  const events = useAsync(() => api.get<{ items: AuditEvent[]; next_cursor: string | null }>('/v1/audit/events', query), [query]);
  const field = (name: keyof AuditFilters, label: string, time = false) => {
    const onInput = (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value });
    return (
      <div><label for={`audit-${name}`}>{label}</label>
        {time ? <input id={`audit-${name}`} type="datetime-local" value={draft[name]} onInput={onInput} />
          : <input id={`audit-${name}`} type="text" value={draft[name]} onInput={onInput} />}</div>
    );
  };
  return (
    <section class="card widget wide" aria-labelledby="audit-title" data-testid="audit">
      <h2 id="audit-title">Audit log</h2>
      <form class="row wrap" onSubmit={(e) => { e.preventDefault(); setFilters(draft); setCursors([null]); }}>
        {field('from', 'From (UTC)', true)}
        {field('to', 'To (UTC)', true)}
        {field('action', 'Action (prefix with *)')}
        {field('user_id', 'User id')}
        {field('status', 'Status')}
        <button type="submit">Search</button>
      </form>
      {events.error && <ErrorNote error={events.error} />}
      {events.data === null && events.loading && <div class="skeleton" aria-busy="true" />}
      {events.data && (events.data.items.length === 0 ? <p class="empty">No audit events match.</p> : (
        <div class="scroll">
          <table data-testid="audit-table">
            <caption class="sr-only">Audit events, newest first</caption>
            <thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Actor / user</th><th scope="col">Status</th><th scope="col">Details</th></tr></thead>
            <tbody>{events.data.items.map((e) => {
              const { ts, action, actor, user_id, status, request_id, ...rest } = e;
              return (
                <tr key={`${ts}/${action}/${request_id}`}>
                  <td>{utc(ts)}</td><td><code>{action}</code></td><td>{actor ?? user_id}</td><td>{status ?? '—'}</td>
                  <td><div class="details" title={JSON.stringify(rest)}>{JSON.stringify(rest)}</div></td>
                </tr>
              );
            })}</tbody>
          </table>
        </div>
      ))}
      <div class="actions">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
        <span class="hint">Page {cursors.length}</span>
        <button type="button" disabled={!events.data?.next_cursor} onClick={() => setCursors([...cursors, events.data!.next_cursor])}>Older</button>
      </div>
    </section>
  );
}
