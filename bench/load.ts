/**
 * `npm run bench -- load [--rates 10,20,30,40,50,60,80] [--step-seconds 20] [--concurrency 1,2,4,8]
 *                        [--batch-size 10] [--window-ms 200] [--max-minutes 35]`
 *
 * The local stack under a steady stream of generated daily transaction files, at increasing offered
 * rates, until the knee. For each poller concurrency (the event source mapping's maximum concurrency)
 * a fresh stack; then a staircase of steps, each offering files at a fixed rate for a bounded window
 * with parallel, paced PutObject calls (one call every 1/rate s, at most --max-in-flight at once).
 * Between steps the stack drains (bounded), so each step starts from an empty queue.
 *
 * Measured per step (arithmetic in ./load-analysis.ts):
 * - throughput: PutObject rate, files and rows loaded during the window (files/s, rows/s);
 * - queue depth (visible + in flight) sampled every 500 ms through the SQS API;
 * - lag from PutObject returning to rows visible: from the ledger's loaded_at (stamped inside the
 *   write transaction: a lower bound) and from polling the ledger every 500 ms (what a reader sees:
 *   an upper bound, 500 ms resolution); p50, p95, p99;
 * - the verdict: behind (achieved < 90% of put), lag growing (late p95 >> early p95), saturated.
 * After the first saturated step (the knee), --after-knee more steps are run and the staircase stops.
 *
 * Correctness is checked too: every file put has one `loaded` ledger row, and the rows in
 * raw.transactions equal the lines of the bodies put (counted here, independently of the loader).
 *
 * Everything runs in this one process on loopback (S3 API server, SQS API server, poller, DuckDB and
 * the load generator itself), so the generator competes with the stack for the same cores: on a
 * shared machine the numbers are noisy; the JSON records the load average before and after.
 * Results: bench/results/load.json and bench/results/load.md.
 */
import '../local/env';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { generateSampleData } from '../local/generator';
import { startStack, type Stack } from '../local/stack';
import { queueDepth } from '../local/stack/queue';
import { InvalidInputError } from '../shared/errors';
import { setLogSink } from '../shared/logger';
import { createS3Client } from '../shared/storage/object-store';
import { warehouse } from '../shared/warehouse';
import {
  findKnee,
  sparkline,
  summariseStep,
  type DepthSample,
  type FileSample,
  type Knee,
  type StepSummary,
} from './load-analysis';

const RESULTS = path.join(__dirname, 'results');
const SAMPLE_MS = 500;

interface PoolFile {
  day: string;
  body: Buffer;
  lines: number;
}

interface StepResult extends StepSummary {
  /** CPU time of this process (every thread: JS, judge workers, DuckDB) over the step's window, in cores. */
  cpu_cores_busy: number;
  lag_observed_ms: { p50: number; p95: number; p99: number };
  deliveries: { count: number; mean_records: number; mean_ms: number };
  drain_seconds: number;
  drained: boolean;
  depth_sparkline: string;
}

interface RunResult {
  concurrency: number;
  steps: StepResult[];
  knee: Knee;
  stopped_by_time_budget: boolean;
  correctness: {
    files_put: number;
    ledger_loaded: number;
    rows_expected: number;
    rows_loaded: number;
    ok: boolean;
  };
  depth_series: { t_s: number; visible: number; in_flight: number }[];
}

function listOfNumbers(text: string, name: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new InvalidInputError(
      `--${name} must be a comma-separated list of positive numbers, got ${JSON.stringify(text)}`,
    );
  }
  return values;
}

function positive(text: string, name: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0)
    throw new InvalidInputError(`--${name} must be a positive number, got ${JSON.stringify(text)}`);
  return v;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** One month of generated day files (the generator's own layout and distributions), read into memory. */
async function loadPool(root: string, customers: number, seed: number): Promise<PoolFile[]> {
  const dir = path.join(root, `pool-1m-${customers}c-s${seed}`);
  if (!fs.existsSync(path.join(dir, 'transactions'))) {
    await generateSampleData({ outDir: dir, months: 1, customers, seed, end: '2020-01-31', overwrite: true });
  }
  const txDir = path.join(dir, 'transactions');
  return fs
    .readdirSync(txDir)
    .sort()
    .map((d) => {
      const body = fs.readFileSync(path.join(txDir, d, 'transactions.json'));
      let lines = 0;
      for (const b of body) if (b === 10) lines++;
      return { day: d.replace(/^d=/, ''), body, lines };
    });
}

export async function run(argv: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rates: { type: 'string', default: '10,20,30,40,50,60,80' },
      'step-seconds': { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '1,2,4,8' },
      'batch-size': { type: 'string', default: '10' },
      'window-ms': { type: 'string', default: '200' },
      'max-in-flight': { type: 'string', default: '32' },
      'drain-seconds': { type: 'string', default: '45' },
      'after-knee': { type: 'string', default: '1' },
      'max-minutes': { type: 'string', default: '35' },
      customers: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '11' },
    },
  });
  const rates = listOfNumbers(values.rates, 'rates');
  const concurrencies = listOfNumbers(values.concurrency, 'concurrency').map(Math.round);
  const stepMs = positive(values['step-seconds'], 'step-seconds') * 1000;
  const batchSize = Math.round(positive(values['batch-size'], 'batch-size'));
  const batchWindowMs = positive(values['window-ms'], 'window-ms');
  const maxInFlight = Math.round(positive(values['max-in-flight'], 'max-in-flight'));
  const drainMs = positive(values['drain-seconds'], 'drain-seconds') * 1000;
  const afterKnee = Math.max(0, Math.round(Number(values['after-knee'])));
  const deadline = Date.now() + positive(values['max-minutes'], 'max-minutes') * 60_000;

  const root = path.resolve('.local', 'bench', 'load');
  fs.mkdirSync(root, { recursive: true });
  const logFd = fs.openSync(path.join(root, 'bench.log'), 'w');
  setLogSink((line) => fs.writeSync(logFd, line + '\n'));
  const say = (s: string) => process.stderr.write(s + '\n');

  const pool = await loadPool(root, Number(values.customers), Number(values.seed));
  const meanBytes = pool.reduce((s, f) => s + f.body.length, 0) / pool.length;
  const meanLines = pool.reduce((s, f) => s + f.lines, 0) / pool.length;
  say(
    `pool: ${pool.length} day files, mean ${Math.round(meanBytes / 1024)} KiB and ${Math.round(meanLines)} transactions each`,
  );

  const started = new Date();
  const loadBefore = os.loadavg();
  const runs: RunResult[] = [];
  for (const concurrency of concurrencies) {
    if (Date.now() > deadline) break;
    runs.push(
      await runStaircase({
        root,
        pool,
        concurrency,
        rates,
        stepMs,
        batchSize,
        batchWindowMs,
        maxInFlight,
        drainMs,
        afterKnee,
        deadline,
        say,
      }),
    );
  }
  const loadAfter = os.loadavg();

  const result = {
    benchmark: 'load',
    date: started.toISOString(),
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      loadavg_1m_before: round(loadBefore[0]!),
      loadavg_1m_after: round(loadAfter[0]!),
      note: 'shared machine: other work ran at the same time; the generator, S3 and SQS servers, poller and DuckDB share one process',
    },
    params: {
      rates,
      step_seconds: stepMs / 1000,
      batch_size: batchSize,
      window_ms: batchWindowMs,
      max_in_flight: maxInFlight,
      sample_ms: SAMPLE_MS,
    },
    files: {
      mean_kib: Math.round(meanBytes / 1024),
      mean_transactions: Math.round(meanLines),
      pool_days: pool.length,
    },
    runs,
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, 'load.json'), JSON.stringify(result, null, 2) + '\n');
  const md = renderMarkdown(result);
  fs.writeFileSync(path.join(RESULTS, 'load.md'), md);
  process.stdout.write(md);
  const bad = runs.filter((r) => !r.correctness.ok);
  if (bad.length > 0)
    throw new Error(
      `loaded data does not match what was put (concurrency ${bad.map((r) => r.concurrency).join(', ')})`,
    );
}

async function runStaircase(o: {
  root: string;
  pool: PoolFile[];
  concurrency: number;
  rates: number[];
  stepMs: number;
  batchSize: number;
  batchWindowMs: number;
  maxInFlight: number;
  drainMs: number;
  afterKnee: number;
  deadline: number;
  say: (s: string) => void;
}): Promise<RunResult> {
  const dir = path.join(o.root, `stack-c${o.concurrency}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const stack = await startStack({
    dir,
    s3Port: 0,
    sqsPort: 0,
    batchSize: o.batchSize,
    batchWindowMs: o.batchWindowMs,
    concurrency: o.concurrency,
    // long enough that a slow batch under overload is not redelivered while still running (AWS: 6 x timeout)
    visibilityTimeoutSeconds: 120,
    maxReceiveCount: 5,
  });
  const s3 = createS3Client(stack.config);
  const runStart = Date.now();
  const depth: DepthSample[] = [];
  const seen = new Map<string, number>(); // key -> first time the ledger showed it loaded
  let sampling = true;
  let prefix = '';
  const sampler = (async () => {
    while (sampling) {
      const t0 = Date.now();
      try {
        const d = await queueDepth(stack.queues.client, stack.queues.queueUrl);
        depth.push({ t: t0, visible: d.visible, inFlight: d.inFlight });
        if (prefix) {
          const rows = await warehouse().query<{ key: string }>(
            `select key from raw.file_ledger where key like ? and status = 'loaded'`,
            [`transactions/d=%/${prefix}%`],
          );
          const now = Date.now();
          for (const r of rows) if (!seen.has(r.key)) seen.set(r.key, now);
        }
      } catch {
        // a sample lost to a busy moment is not a failure of the run
      }
      await sleep(SAMPLE_MS - (Date.now() - t0));
    }
  })();

  const steps: StepResult[] = [];
  let kneeAt: number | null = null;
  let stoppedByTime = false;
  let filesPut = 0;
  let linesPut = 0;
  try {
    for (const rate of o.rates) {
      if (kneeAt !== null && steps.length > kneeAt + o.afterKnee) break;
      if (Date.now() + o.stepMs + 5_000 > o.deadline) {
        stoppedByTime = true;
        break;
      }
      prefix = `load-c${o.concurrency}-r${rate}-`;
      const deliveriesBefore = stack.consumer.deliveries.length;
      const startedAt = Date.now();
      const cpuBefore = process.cpuUsage();
      const put = await offer(s3, o.pool, prefix, rate, startedAt, o.stepMs, o.maxInFlight);
      const cpu = process.cpuUsage(cpuBefore);
      const cpuCores = (cpu.user + cpu.system) / 1000 / Math.max(1, Date.now() - startedAt);
      filesPut += put.length;
      linesPut += put.reduce((s, p) => s + p.lines, 0);
      const drainStart = Date.now();
      const drained = await waitLoaded(
        stack,
        prefix,
        put.length,
        Math.min(o.drainMs, o.deadline - Date.now()),
      );
      const drainSeconds = (Date.now() - drainStart) / 1000;
      await sleep(SAMPLE_MS + 50); // let the sampler observe the last commits

      const ledger = await warehouse().query<{ key: string; loaded_ms: number; rows_loaded: number }>(
        `select key, epoch_ms(loaded_at) as loaded_ms, rows_loaded from raw.file_ledger where key like ? and status = 'loaded'`,
        [`transactions/d=%/${prefix}%`],
      );
      const byKey = new Map(ledger.map((r) => [r.key, r]));
      const files: FileSample[] = put.map((p) => {
        const row = byKey.get(p.key);
        return {
          putAt: p.putAt,
          loadedAt: row ? Number(row.loaded_ms) : null,
          rows: row ? Number(row.rows_loaded) : 0,
        };
      });
      const observed = put.filter((p) => seen.has(p.key)).map((p) => (seen.get(p.key) as number) - p.putAt);
      const stepDepth = depth.filter(
        (d) => d.t >= startedAt && d.t <= startedAt + o.stepMs + drainSeconds * 1000,
      );
      const summary = summariseStep({
        targetRate: rate,
        startedAt,
        windowMs: o.stepMs,
        files,
        depth: stepDepth,
      });
      const deliveries = stack.consumer.deliveries.slice(deliveriesBefore);
      const step: StepResult = {
        ...summary,
        lag_observed_ms: { p50: pct(observed, 50), p95: pct(observed, 95), p99: pct(observed, 99) },
        deliveries: {
          count: deliveries.length,
          mean_records: round(deliveries.reduce((s, d) => s + d.records, 0) / Math.max(1, deliveries.length)),
          mean_ms: Math.round(
            deliveries.reduce((s, d) => s + d.durationMs, 0) / Math.max(1, deliveries.length),
          ),
        },
        cpu_cores_busy: round(cpuCores),
        drain_seconds: round(drainSeconds),
        drained,
        depth_sparkline: sparkline(
          stepDepth.map((d) => d.visible + d.inFlight),
          30,
        ),
      };
      steps.push(step);
      o.say(
        `c=${o.concurrency} target ${rate}/s: put ${step.put_files_per_s}/s, loaded ${step.achieved_files_per_s}/s ` +
          `(${step.achieved_rows_per_s} tx/s), lag p50/p95 ${step.lag_ms.p50}/${step.lag_ms.p95} ms, ` +
          `max depth ${step.depth_max}, ${step.cpu_cores_busy} cores busy${step.saturated ? '  <- saturated' : ''}`,
      );
      if (step.saturated && kneeAt === null) kneeAt = steps.length - 1;
      if (!drained) {
        // the next step would start on a backlog: its numbers would mean nothing
        o.say(`c=${o.concurrency}: backlog not drained in ${o.drainMs / 1000} s; stopping this staircase`);
        break;
      }
    }
    // the rest of the backlog, so the correctness check sees everything that was put
    await stack
      .waitForIdle({ timeoutMs: Math.max(5_000, o.deadline + 60_000 - Date.now()), settleMs: 500 })
      .catch(() => undefined);
    const [check] = await warehouse().query<{ files: number; tx: number }>(
      `select (select count(*) from raw.file_ledger where status = 'loaded' and key like 'transactions/d=%/load-c%') as files,
              (select count(*) from raw.transactions where _file_key like 'transactions/d=%/load-c%') as tx`,
    );
    const correctness = {
      files_put: filesPut,
      ledger_loaded: Number(check!.files),
      rows_expected: linesPut,
      rows_loaded: Number(check!.tx),
      ok: Number(check!.files) === filesPut && Number(check!.tx) === linesPut,
    };
    return {
      concurrency: o.concurrency,
      steps,
      knee: findKnee(steps),
      stopped_by_time_budget: stoppedByTime,
      correctness,
      depth_series: depth.map((d) => ({
        t_s: round((d.t - runStart) / 1000),
        visible: d.visible,
        in_flight: d.inFlight,
      })),
    };
  } finally {
    sampling = false;
    await sampler;
    s3.destroy();
    await stack.stop();
  }
}

interface Put {
  key: string;
  putAt: number;
  lines: number;
}

/** PutObject at `rate` files/s for `windowMs`, paced by the clock, at most `maxInFlight` at once. */
async function offer(
  s3: S3Client,
  pool: PoolFile[],
  prefix: string,
  rate: number,
  startedAt: number,
  windowMs: number,
  maxInFlight: number,
): Promise<Put[]> {
  const n = Math.max(1, Math.round((rate * windowMs) / 1000));
  const done: Put[] = [];
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < n; i++) {
    await sleep(startedAt + (i * 1000) / rate - Date.now());
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const file = pool[i % pool.length]!;
    const key = `transactions/d=${file.day}/${prefix}${String(i).padStart(5, '0')}.json`;
    const p: Promise<void> = s3
      .send(
        new PutObjectCommand({
          Bucket: 'landing',
          Key: key,
          Body: file.body,
          ContentType: 'application/json',
        }),
      )
      .then(() => {
        done.push({ key, putAt: Date.now(), lines: file.lines });
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return done;
}

/** Wait until `n` files of the step are loaded (ledger) and the queue is empty, at most `limitMs`. */
async function waitLoaded(stack: Stack, prefix: string, n: number, limitMs: number): Promise<boolean> {
  const until = Date.now() + Math.max(0, limitMs);
  for (;;) {
    const [row] = await warehouse().query<{ n: number }>(
      `select count(*) as n from raw.file_ledger where key like ? and status = 'loaded'`,
      [`transactions/d=%/${prefix}%`],
    );
    const d = await queueDepth(stack.queues.client, stack.queues.queueUrl);
    if (Number(row!.n) >= n && d.visible === 0 && d.inFlight === 0) return true;
    if (Date.now() >= until) return false;
    await sleep(250);
  }
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] as number;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function renderMarkdown(r: {
  date: string;
  machine: { cpus: number; node: string; loadavg_1m_before: number; loadavg_1m_after: number };
  params: { step_seconds: number; batch_size: number; window_ms: number; max_in_flight: number };
  files: { mean_kib: number; mean_transactions: number };
  runs: RunResult[];
}): string {
  const lines = [
    `# load benchmark (${r.date})`,
    '',
    `Steady streams of generated day files (${r.files.mean_kib} KiB, ${r.files.mean_transactions} transactions each) through the local stack: ` +
      `PutObject -> S3-shaped notification -> SQS API -> poller -> ingest handler -> DuckDB. Steps of ${r.params.step_seconds} s at a fixed offered rate, ` +
      `at most ${r.params.max_in_flight} PutObject calls in flight, batch size ${r.params.batch_size}, window ${r.params.window_ms} ms. ` +
      `${r.machine.cpus} cores, node ${r.machine.node}; load average ${r.machine.loadavg_1m_before} before, ${r.machine.loadavg_1m_after} after: ` +
      `**a shared machine** (other work ran meanwhile) and one process for generator and stack, so the numbers are noisy and a lower bound.`,
    '',
  ];
  for (const run of r.runs) {
    const k = run.knee;
    lines.push(
      `## poller concurrency ${run.concurrency}`,
      '',
      k.knee_files_per_s === null
        ? `No knee within the offered rates (largest sustained: **${k.max_sustained_files_per_s} files/s**, ${k.max_sustained_rows_per_s} transactions/s).`
        : `**Knee at ${k.knee_files_per_s} files/s offered**; largest sustained rate below it **${k.max_sustained_files_per_s} files/s** ` +
            `(${k.max_sustained_rows_per_s} transactions/s); peak service rate under overload ${k.peak_files_per_s} files/s.`,
      '',
      '| offered files/s | PutObject files/s | loaded files/s | transactions/s | lag p50 / p95 / p99 (ms, loaded_at) | lag p95 observed (ms) | p95 first / last third (ms) | queue depth max (trend/s) | depth over the step | batches (mean files, ms) | CPU (cores busy) | verdict |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of run.steps) {
      const verdict = s.saturated
        ? `saturated (${[s.behind && 'behind', s.lag_growing && 'lag growing'].filter(Boolean).join(', ')})`
        : 'keeps up';
      lines.push(
        `| ${s.target_files_per_s} | ${s.put_files_per_s}${s.generator_limited ? ' (generator-limited)' : ''} | ${s.achieved_files_per_s} | ${s.achieved_rows_per_s} | ` +
          `${s.lag_ms.p50} / ${s.lag_ms.p95} / ${s.lag_ms.p99} | ${s.lag_observed_ms.p95} | ${s.lag_p95_first_third_ms} / ${s.lag_p95_last_third_ms} | ` +
          `${s.depth_max} (${s.depth_slope_per_s >= 0 ? '+' : ''}${s.depth_slope_per_s}) | \`${s.depth_sparkline}\` | ${s.deliveries.count} (${s.deliveries.mean_records}, ${s.deliveries.mean_ms}) | ${s.cpu_cores_busy} of ${os.availableParallelism()} | ${verdict}${s.drained ? '' : ', not drained'} |`,
      );
    }
    const c = run.correctness;
    lines.push(
      '',
      `Correctness: ${c.files_put} files put, ${c.ledger_loaded} loaded in the ledger; ${c.rows_expected} transactions in the bodies, ${c.rows_loaded} in raw.transactions: ${c.ok ? 'match' : '**MISMATCH**'}.` +
        (run.stopped_by_time_budget ? ' (stopped by the time budget)' : ''),
      '',
    );
  }
  lines.push(
    'Lag is measured from PutObject returning to the ledger row of the file (written in the same transaction as its rows): ' +
      '"loaded_at" is stamped inside that transaction (a lower bound), "observed" is when a reader polling every 500 ms first saw it (an upper bound). ' +
      'Throughput is counted over the last two thirds of each step (once the pipeline has filled). A step is saturated when fewer files were loaded than 90% of those put in that part of the step, or when the p95 lag of the files put in the last third of the step is more than twice (and 2 s more than) that of the first third.',
    '',
  );
  return lines.join('\n');
}

if (require.main === module) {
  run(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`bench load failed: ${err.message}\n`);
    process.exit(1);
  });
}
