/**
 * The load benchmark's arithmetic (bench/load-analysis.ts) on synthetic steps whose answers are
 * worked out by hand in each test.
 */
import {
  findKnee,
  percentile,
  slope,
  sparkline,
  summariseStep,
  type FileSample,
  type StepSummary,
} from '../../bench/load-analysis';

const T0 = 1_000_000;

/** `rate` files/s for `seconds`, each loaded `lag(i)` ms after its PutObject, 100 rows each. */
function steadyFiles(
  rate: number,
  seconds: number,
  lag: (i: number, putAt: number) => number | null,
): FileSample[] {
  return Array.from({ length: rate * seconds }, (_, i) => {
    const putAt = T0 + (i * 1000) / rate;
    const l = lag(i, putAt);
    return { putAt, loadedAt: l === null ? null : putAt + l, rows: 100 };
  });
}

describe('percentile (nearest rank)', () => {
  it('picks the smallest value with at least p% at or below it', () => {
    // Prepare: 1..20; nearest rank of p95 is ceil(0.95 * 20) = 19th value, p50 is the 10th
    const values = Array.from({ length: 20 }, (_, i) => 20 - i);
    // Act / Assess
    expect(percentile(values, 50)).toBe(10);
    expect(percentile(values, 95)).toBe(19);
    expect(percentile(values, 100)).toBe(20);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });
});

describe('slope', () => {
  it('is the least-squares slope', () => {
    // Prepare: y = 3x + 1 exactly, then points (0,0), (1,2), (2,1): slope = sum dx*dy / sum dx^2 = (-1*-1 + 0 + 1*0) / 2 = 0.5
    const line = [0, 1, 2, 3].map((x) => ({ x, y: 3 * x + 1 }));
    // Act / Assess
    expect(slope(line)).toBeCloseTo(3, 12);
    expect(
      slope([
        { x: 0, y: 0 },
        { x: 1, y: 2 },
        { x: 2, y: 1 },
      ]),
    ).toBeCloseTo(0.5, 12);
    expect(slope([{ x: 1, y: 5 }])).toBe(0);
  });
});

describe('summariseStep', () => {
  it('a step the stack keeps up with: achieved = put rate, flat lag, not saturated', () => {
    // Prepare: 10 files/s for 30 s, each loaded 400 ms after its PutObject. Measured part: [10 s, 30 s),
    // 20 s long; puts there: files 100..299 -> 200 -> 10/s; loads there: loadedAt in [10 s, 30 s) ->
    // putAt in [9.6 s, 29.6 s) -> files 96..295 -> 200 -> 10/s, 1000 rows/s.
    const files = steadyFiles(10, 30, () => 400);
    const depth = Array.from({ length: 61 }, (_, i) => ({ t: T0 + i * 500, visible: 2, inFlight: 3 }));
    // Act
    const s = summariseStep({ targetRate: 10, startedAt: T0, windowMs: 30_000, files, depth });
    // Assess
    expect(s.put_files_per_s).toBe(10);
    expect(s.achieved_files_per_s).toBe(10);
    expect(s.achieved_rows_per_s).toBe(1000);
    expect(s.lag_ms).toEqual({ p50: 400, p95: 400, p99: 400, max: 400 });
    expect(s.depth_max).toBe(5);
    expect(s.depth_slope_per_s).toBe(0);
    expect(s.behind).toBe(false);
    expect(s.lag_growing).toBe(false);
    expect(s.saturated).toBe(false);
    expect(s.generator_limited).toBe(false);
    expect(s.loaded).toBe(300);
    expect(s.not_loaded).toBe(0);
  });

  it('an overloaded step: completions at the capacity, lag growing with the time put, backlog rising', () => {
    // Prepare: 20 files/s offered for 30 s, served one after another at 10 files/s starting at T0:
    // file i completes at T0 + 100 ms * (i + 1). Measured part [10 s, 30 s): completions of files
    // 99..298 -> 200 in 20 s -> 10/s (puts there: files 200..599 -> 400 -> 20/s) -> behind.
    // Lag of file i = 100(i+1) - 50 i = 50 i + 100 ms. First third (files 0..199): p95 = file 189
    // (nearest rank ceil(0.95*200) = 190th) -> 9550 ms. Last third: files 400..599, p95 = file 589 -> 29550 ms.
    const files: FileSample[] = Array.from({ length: 600 }, (_, i) => ({
      putAt: T0 + i * 50,
      loadedAt: T0 + 100 * (i + 1),
      rows: 10,
    }));
    // backlog = put - done = 20t - 10t = 10 t messages; sampled every second
    const depth = Array.from({ length: 31 }, (_, t) => ({ t: T0 + t * 1000, visible: 10 * t, inFlight: 0 }));
    // Act
    const s = summariseStep({ targetRate: 20, startedAt: T0, windowMs: 30_000, files, depth });
    // Assess
    expect(s.put_files_per_s).toBe(20);
    expect(s.achieved_files_per_s).toBe(10);
    expect(s.achieved_rows_per_s).toBe(100);
    expect(s.lag_p95_first_third_ms).toBe(9550);
    expect(s.lag_p95_last_third_ms).toBe(29550);
    expect(s.depth_slope_per_s).toBe(10);
    expect(s.depth_max).toBe(300);
    expect(s.behind).toBe(true);
    expect(s.lag_growing).toBe(true);
    expect(s.saturated).toBe(true);
    // all 600 loaded, the last at T0 + 60 s: 600 / 60 = 10 files/s including the drain
    expect(s.drain_files_per_s).toBe(10);
  });

  it('files never loaded in the last third count as infinitely late', () => {
    // Prepare: 10/s for 30 s; the first two thirds load after 200 ms; of the last third (files 200..299)
    // only the first 50 load, after 200 ms. p95 of [200 x 50, inf x 50] is the 95th of 100 -> inf.
    const files = steadyFiles(10, 30, (i) => (i < 250 ? 200 : null));
    // Act
    const s = summariseStep({ targetRate: 10, startedAt: T0, windowMs: 30_000, files, depth: [] });
    // Assess
    expect(s.lag_p95_last_third_ms).toBe(Infinity);
    expect(s.lag_growing).toBe(true);
    expect(s.not_loaded).toBe(50);
  });

  it('lag noise below the absolute threshold is not growth', () => {
    // Prepare: lag 300 ms in the first third, 900 ms in the last: 3x but only 600 ms more (< 2000 ms)
    const files = steadyFiles(10, 30, (i) => (i < 200 ? 300 : 900));
    // Act
    const s = summariseStep({ targetRate: 10, startedAt: T0, windowMs: 30_000, files, depth: [] });
    // Assess
    expect(s.lag_growing).toBe(false);
  });

  it('flags a generator that could not reach the target rate', () => {
    // Prepare: target 40/s but only 10/s put
    const files = steadyFiles(10, 30, () => 100);
    // Act
    const s = summariseStep({ targetRate: 40, startedAt: T0, windowMs: 30_000, files, depth: [] });
    // Assess
    expect(s.generator_limited).toBe(true);
    expect(s.saturated).toBe(false);
  });

  it('rejects an empty window', () => {
    expect(() => summariseStep({ targetRate: 1, startedAt: T0, windowMs: 0, files: [], depth: [] })).toThrow(
      RangeError,
    );
  });
});

describe('findKnee', () => {
  const step = (target: number, achieved: number, saturated: boolean): StepSummary =>
    ({
      target_files_per_s: target,
      achieved_files_per_s: achieved,
      achieved_rows_per_s: Math.round(achieved * 100),
      saturated,
    }) as StepSummary;

  it('is the first saturated step; the sustained rate is the step before it', () => {
    // Prepare
    const steps = [step(5, 5, false), step(10, 9.9, false), step(15, 11, true), step(20, 12, true)];
    // Act
    const k = findKnee(steps);
    // Assess
    expect(k).toEqual({
      index: 2,
      knee_files_per_s: 15,
      max_sustained_files_per_s: 9.9,
      max_sustained_rows_per_s: 990,
      peak_files_per_s: 12,
    });
  });

  it('no knee: the last step is the largest sustained', () => {
    expect(findKnee([step(5, 5, false), step(10, 10, false)])).toMatchObject({
      index: null,
      knee_files_per_s: null,
      max_sustained_files_per_s: 10,
    });
  });

  it('saturated from the first step: nothing sustained', () => {
    expect(findKnee([step(50, 20, true)])).toMatchObject({
      index: 0,
      knee_files_per_s: 50,
      max_sustained_files_per_s: 0,
      peak_files_per_s: 20,
    });
  });
});

describe('sparkline', () => {
  it('scales to the maximum and buckets long series by their maximum', () => {
    expect(sparkline([0, 7, 14])).toBe('▁▄█');
    expect(sparkline([0, 0, 14, 0], 2)).toBe('▁█');
    expect(sparkline([0, 0])).toBe('▁▁');
    expect(sparkline([])).toBe('');
  });
});
