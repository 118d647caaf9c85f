import { useEffect, useRef } from 'preact/hooks';
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart as ChartJs, type ChartConfiguration, type ChartType,
  DoughnutController, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
} from 'chart.js';

// Only what the pages draw is registered, so the bundle carries only these parts of Chart.js.
ChartJs.register(LineController, LineElement, PointElement, BarController, BarElement, DoughnutController, ArcElement,
  CategoryScale, LinearScale, Tooltip, Legend);
ChartJs.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
ChartJs.defaults.color = '#57606a';
ChartJs.defaults.maintainAspectRatio = false;
ChartJs.defaults.animation = false;

export const palette = ['#0969da', '#bf3989', '#1a7f37', '#9a6700', '#8250df', '#cf222e', '#0a7ea4', '#6e7781', '#e16f24', '#57606a'];

/** A Chart.js canvas with an accessible name; `summary` is read by screen readers instead of the drawing. */
export function Chart<T extends ChartType>({ config, label, summary, testId }: {
  config: ChartConfiguration<T>; label: string; summary: string; testId?: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<ChartJs<T> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new ChartJs(canvas.current, config);
    return () => { chart.current?.destroy(); chart.current = null; };
  }, [config.type]);

  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.data = config.data;
    if (config.options) current.options = config.options;
    current.update('none');
  }, [config]);

  return (
    <div class="chart" data-testid={testId}>
      <canvas ref={canvas} role="img" aria-label={`${label}: ${summary}`} />
    </div>
  );
}
