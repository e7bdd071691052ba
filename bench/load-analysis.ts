/**
 * The arithmetic of the load benchmark (bench/load.ts), kept free of I/O so it is unit-tested
 * (test/unit/bench-load-analysis.test.ts): per-step throughput, lag percentiles, queue-depth trend,
 * and the knee of the staircase.
 *
 * A step offers files at a fixed rate for a bounded window. Throughput is measured over the last two
 * thirds of the window (WARMUP_FRACTION), once the pipeline has filled: while the stack keeps up,
 * files complete there at the rate they are put; past its capacity they complete at the capacity.
 * A step is *saturated* when either
 *   - the stack falls behind: fewer files were loaded than were put in that part of the window
 *     (achieved < BEHIND_RATIO x the PutObject rate), or
 *   - the lag grows without bound: the p95 lag of the files put in the last third of the window is
 *     more than LAG_GROWTH_FACTOR times (and LAG_GROWTH_MIN_MS more than) the p95 of the first third.
 *     Below capacity the lag is flat across the window; above it, every file waits behind a backlog
 *     that grows linearly, so the lag grows linearly with the time the file was put.
 * The knee is the first saturated step; the largest sustained rate is the achieved throughput of
 * the last step before it.
 */

/** The first part of the window, while the pipeline fills, is left out of the throughput. */
export const WARMUP_FRACTION = 1 / 3;
/** Achieved below this fraction of the PutObject rate counts as falling behind. */
export const BEHIND_RATIO = 0.9;
/** Last-third p95 lag above this multiple of the first-third p95 counts as growing... */
export const LAG_GROWTH_FACTOR = 2;
/** ...when it is also this much larger in absolute terms (scheduling noise on a shared machine). */
export const LAG_GROWTH_MIN_MS = 2000;
/** The PutObject rate below this fraction of the target: the generator, not the stack, was the limit. */
export const GENERATOR_LIMITED_RATIO = 0.9;

export interface FileSample {
  /** When PutObject returned (ms since the epoch). */
  putAt: number;
  /** The ledger's loaded_at (ms since the epoch); null when the file was not loaded by the end of the drain. */
  loadedAt: number | null;
  rows: number;
}

export interface DepthSample {
  /** ms since the epoch */
  t: number;
  visible: number;
  inFlight: number;
}

export interface StepInput {
  /** Target rate, files per second. */
  targetRate: number;
  /** Start of the offering window (ms since the epoch). */
  startedAt: number;
  /** Length of the offering window (ms). */
  windowMs: number;
  files: FileSample[];
  depth: DepthSample[];
}

export interface LagStats {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface StepSummary {
  target_files_per_s: number;
  /** PutObject calls that returned in the measured part of the window, per second. */
  put_files_per_s: number;
  /** Files (rows) loaded in the measured part of the window, per second. */
  achieved_files_per_s: number;
  achieved_rows_per_s: number;
  /** Files of the step over (last loaded_at - window start): the service rate including the drain. */
  drain_files_per_s: number;
  files: number;
  loaded: number;
  not_loaded: number;
  lag_ms: LagStats;
  lag_p95_first_third_ms: number;
  lag_p95_last_third_ms: number;
  depth_max: number;
  depth_at_window_end: number;
  /** Least-squares slope of (visible + in flight) over the second half of the window, messages/s. */
  depth_slope_per_s: number;
  behind: boolean;
  lag_growing: boolean;
  generator_limited: boolean;
  saturated: boolean;
}

/** Nearest-rank percentile (the smallest value with at least p% of the values at or below it); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] as number;
}

/** Ordinary least-squares slope of y on x; 0 for fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

function lagStats(lags: readonly number[]): LagStats {
  return {
    p50: percentile(lags, 50),
    p95: percentile(lags, 95),
    p99: percentile(lags, 99),
    max: lags.length ? Math.max(...lags) : NaN,
  };
}

export function summariseStep(step: StepInput): StepSummary {
  const { startedAt, windowMs, files, depth } = step;
  if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
  const windowEnd = startedAt + windowMs;
  const from = startedAt + WARMUP_FRACTION * windowMs;
  const seconds = (windowEnd - from) / 1000;
  const loaded = files.filter((f) => f.loadedAt !== null) as (FileSample & { loadedAt: number })[];
  // half-open [from, windowEnd) for both, so a steady stream counts the same number of each
  const doneInWindow = loaded.filter((f) => f.loadedAt >= from && f.loadedAt < windowEnd);
  const putInWindow = files.filter((f) => f.putAt >= from && f.putAt < windowEnd).length;
  const lastLoaded = loaded.length ? Math.max(...loaded.map((f) => f.loadedAt)) : NaN;

  const lags = loaded.map((f) => f.loadedAt - f.putAt);
  const third = windowMs / 3;
  const lagsPutIn = (from: number, to: number) =>
    loaded
      .filter((f) => f.putAt >= startedAt + from && f.putAt < startedAt + to)
      .map((f) => f.loadedAt - f.putAt);
  // a file never loaded waits at least until the end of the drain: count it as infinitely late
  const unloadedLate = files.filter((f) => f.loadedAt === null && f.putAt >= startedAt + 2 * third).length;
  const firstThird = percentile(lagsPutIn(0, third), 95);
  const lastLags = [...lagsPutIn(2 * third, windowMs + 1), ...Array<number>(unloadedLate).fill(Infinity)];
  const lastThird = percentile(lastLags, 95);

  const secondHalf = depth
    .filter((d) => d.t >= startedAt + windowMs / 2 && d.t <= windowEnd)
    .map((d) => ({ x: (d.t - startedAt) / 1000, y: d.visible + d.inFlight }));
  const atEnd = depth.filter((d) => d.t <= windowEnd).at(-1);

  const putRate = putInWindow / seconds;
  const achieved = doneInWindow.length / seconds;
  const behind = achieved < BEHIND_RATIO * putRate;
  const lagGrowing =
    Number.isFinite(firstThird) &&
    lastThird > LAG_GROWTH_FACTOR * firstThird &&
    lastThird - firstThird > LAG_GROWTH_MIN_MS;
  return {
    target_files_per_s: step.targetRate,
    put_files_per_s: round(putRate),
    achieved_files_per_s: round(achieved),
    achieved_rows_per_s: Math.round(doneInWindow.reduce((s, f) => s + f.rows, 0) / seconds),
    drain_files_per_s: Number.isFinite(lastLoaded)
      ? round(loaded.length / ((lastLoaded - startedAt) / 1000))
      : 0,
    files: files.length,
    loaded: loaded.length,
    not_loaded: files.length - loaded.length,
    lag_ms: lagStats(lags),
    lag_p95_first_third_ms: firstThird,
    lag_p95_last_third_ms: lastThird,
    depth_max: depth.length ? Math.max(...depth.map((d) => d.visible + d.inFlight)) : 0,
    depth_at_window_end: atEnd ? atEnd.visible + atEnd.inFlight : 0,
    depth_slope_per_s: round(slope(secondHalf)),
    behind,
    lag_growing: lagGrowing,
    generator_limited: putRate < GENERATOR_LIMITED_RATIO * step.targetRate,
    saturated: behind || lagGrowing,
  };
}

export interface Knee {
  /** Index of the first saturated step, null when none was. */
  index: number | null;
  /** Target rate of that step. */
  knee_files_per_s: number | null;
  /** Achieved throughput of the last unsaturated step before the knee (or of the last step). */
  max_sustained_files_per_s: number;
  max_sustained_rows_per_s: number;
  /** Highest achieved throughput in any step, saturated or not: the service rate at overload. */
  peak_files_per_s: number;
}

export function findKnee(steps: readonly StepSummary[]): Knee {
  const index = steps.findIndex((s) => s.saturated);
  const before = index === -1 ? steps.at(-1) : index > 0 ? steps[index - 1] : undefined;
  return {
    index: index === -1 ? null : index,
    knee_files_per_s: index === -1 ? null : steps[index]!.target_files_per_s,
    max_sustained_files_per_s: before?.achieved_files_per_s ?? 0,
    max_sustained_rows_per_s: before?.achieved_rows_per_s ?? 0,
    peak_files_per_s: steps.reduce((m, s) => Math.max(m, s.achieved_files_per_s), 0),
  };
}

/** ▁▂▃▄▅▆▇█ sparkline of a series scaled to its own maximum (for the markdown report). */
export function sparkline(values: readonly number[], width = 40): string {
  if (values.length === 0) return '';
  const bars = '▁▂▃▄▅▆▇█';
  const bucket = Math.max(1, Math.ceil(values.length / width));
  const points: number[] = [];
  for (let i = 0; i < values.length; i += bucket) points.push(Math.max(...values.slice(i, i + bucket)));
  const max = Math.max(...points);
  return points
    .map((v) =>
      max === 0 ? bars[0] : bars[Math.min(bars.length - 1, Math.floor((v / max) * (bars.length - 1)))],
    )
    .join('');
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
