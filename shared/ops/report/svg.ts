/**
 * Inline SVG charts, rendered on the server side into the report: no script, no CDN, readable by
 * any browser and printable. Every bar carries its label and value (data attributes and a <title>
 * tooltip), and the report prints the same numbers in a table beside the chart.
 */
import { escapeHtml } from './escape';

export interface Bar {
  label: string;
  value: number;
}

export interface ChartOptions {
  /** Accessible name of the chart. */
  title: string;
  bars: readonly Bar[];
  width?: number;
  height?: number;
  format?: (n: number) => string;
  /** Data attribute naming the chart, for tests and styling. */
  id: string;
}

/** An axis maximum at or above `max` on a 1-2-5 scale, and its tick step (about 4-5 ticks). */
export function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 1 };
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  return { top: Math.ceil(max / step) * step, step };
}

const fmt = (n: number) => n.toLocaleString('en-GB', { maximumFractionDigits: 2 });
const r1 = (n: number) => Math.round(n * 10) / 10;

/** Vertical columns (time series: purchases per month). Labels thin out when there are many. */
export function columnChart(o: ChartOptions): string {
  // sized for the report's half-width column, so the text is drawn at about its nominal size
  const width = o.width ?? 560;
  const height = o.height ?? 260;
  const format = o.format ?? fmt;
  const m = { top: 16, right: 12, bottom: 52, left: 56 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const { top, step } = niceScale(Math.max(0, ...o.bars.map((b) => b.value)));
  const y = (v: number) => m.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(1, o.bars.length);
  const barW = Math.max(1, slot * 0.72);
  const every = Math.max(1, Math.ceil(o.bars.length / 12));

  const parts: string[] = [];
  for (let v = 0; v <= top + step / 2; v += step) {
    parts.push(
      `<line class="grid" x1="${m.left}" x2="${width - m.right}" y1="${r1(y(v))}" y2="${r1(y(v))}"/>`,
      `<text class="tick" x="${m.left - 6}" y="${r1(y(v) + 4)}" text-anchor="end">${escapeHtml(format(v))}</text>`,
    );
  }
  o.bars.forEach((b, i) => {
    const x = m.left + i * slot + (slot - barW) / 2;
    const h = Math.max(0, (b.value / top) * plotH);
    parts.push(
      `<rect class="bar" data-label="${escapeHtml(b.label)}" data-value="${b.value}" x="${r1(x)}" y="${r1(y(b.value))}" width="${r1(barW)}" height="${r1(h)}"><title>${escapeHtml(`${b.label}: ${format(b.value)}`)}</title></rect>`,
    );
    if (i % every === 0) {
      const cx = r1(x + barW / 2);
      parts.push(
        `<text class="label" x="${cx}" y="${height - m.bottom + 14}" text-anchor="end" transform="rotate(-40 ${cx} ${height - m.bottom + 14})">${escapeHtml(b.label)}</text>`,
      );
    }
  });
  if (o.bars.length === 0)
    parts.push(`<text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text>`);
  return svg(o, width, height, parts);
}

/** Horizontal bars (categories), labels on the left, values at the bar ends. */
export function barChart(o: ChartOptions): string {
  const width = o.width ?? 560;
  const format = o.format ?? fmt;
  const rowH = 28;
  const m = { top: 8, right: 72, bottom: 8, left: 130 };
  const height = o.height ?? m.top + m.bottom + Math.max(1, o.bars.length) * rowH;
  const plotW = width - m.left - m.right;
  const max = Math.max(0, ...o.bars.map((b) => b.value));
  const parts: string[] = [];
  o.bars.forEach((b, i) => {
    const y = m.top + i * rowH;
    const w = max > 0 ? (b.value / max) * plotW : 0;
    parts.push(
      `<text class="label" x="${m.left - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${escapeHtml(b.label)}</text>`,
      `<rect class="bar" data-label="${escapeHtml(b.label)}" data-value="${b.value}" x="${m.left}" y="${y + 4}" width="${r1(w)}" height="${rowH - 8}"><title>${escapeHtml(`${b.label}: ${format(b.value)}`)}</title></rect>`,
      `<text class="value" x="${r1(m.left + w + 6)}" y="${y + rowH / 2 + 4}">${escapeHtml(format(b.value))}</text>`,
    );
  });
  if (o.bars.length === 0)
    parts.push(`<text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text>`);
  return svg(o, width, height, parts);
}

function svg(o: ChartOptions, width: number, height: number, parts: string[]): string {
  return (
    `<svg class="chart" data-chart="${escapeHtml(o.id)}" role="img" aria-label="${escapeHtml(o.title)}" ` +
    `viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${escapeHtml(o.title)}</title>${parts.join('')}</svg>`
  );
}
