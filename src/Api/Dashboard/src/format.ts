// Formatting shared by the pages. Numbers in en-US style; times shown in UTC, as the API computes periods in UTC.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export function int(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : integer.format(value);
}

export function num(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined) return '—';
  return digits === 2 ? decimal.format(value) : new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(value);
}

export function usd(value: number | null | undefined): string {
  return money(value, 'USD');
}

/** Money with at least 2 and up to 4 decimals (small per-call amounts stay visible). */
export function money(value: number | null | undefined, currency: string): string {
  if (value === null || value === undefined) return '—';
  const digits = Math.abs(value) > 0 && Math.abs(value) < 1 ? 4 : 2;
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: digits }).format(value);
}

export function pct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '—' : `${num(value, digits)} %`;
}

export function signedPct(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'no data yesterday';
  return `${value > 0 ? '+' : ''}${num(value, 1)} %`;
}

export function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${integer.format(Math.round(value))} ms`;
}

export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A bucket label: "05-18 14:00" for hours, "2026-05-18" for days and weeks. */
export function bucketLabel(iso: string, groupBy: string): string {
  const text = new Date(iso).toISOString();
  return groupBy === 'hour' ? `${text.slice(5, 10)} ${text.slice(11, 16)}` : text.slice(0, 10);
}
