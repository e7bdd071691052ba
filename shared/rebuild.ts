/**
 * The weekly rebuild: write, audit, publish.
 *
 *   1. build the models in dependency order (tables built aside and swapped in);
 *   2. run the data tests and store their results;
 *   3. publish the purchase view and its monthly table to the exports bucket only when no test of
 *      severity `error` failed (warnings are reported, not blocking);
 *   4. record the run in analytics.rebuild_runs, whatever happened.
 *
 * One rebuild at a time (they all rebuild the same models and the day's export prefix): the run
 * claims scope `rebuild` (shared/publish/claims.ts) before any work. A rebuild started while another
 * runs is refused with a clear message, except a repeat of the same request (same run_id, or the
 * same options within 15 minutes: a retried invoke), which waits for the first and returns its
 * result. The run is recorded as `running` before the work starts, so a killed rebuild leaves its
 * row; the next rebuild finds its claim's lease expired and marks that row `abandoned`.
 *
 * Used by functions/rebuild.ts (EventBridge schedule, `sls invoke`), `npm run rebuild` and the demo.
 */
import crypto from 'node:crypto';
import { config } from './config';
import { ConfigError, errorMessage } from './errors';
import { formatTestReport } from './datatests/report';
import { runDataTests, sqlTimestamp, summarise, type DataTestResult, type TestSummary } from './datatests/runner';
import { logger as rootLogger, type Logger } from './logger';
import { ModelBuildError, buildModels, type BuiltModel } from './models/runner';
import { compact, fixCut } from './ingest/compact';
import { defaultRegistry } from './datasets';
import { defaultTemplateContext, type TemplateContext } from './models/template';
import { exportSnapshot, type SnapshotExport } from './rebuild-export';
import { pseudonymisationKey } from './publish';
import { claimOrWait, fingerprintOf, type RunClaim } from './publish/claims';
import { warehouse as defaultWarehouse } from './warehouse';
import type { Warehouse } from './warehouse/port';

export const RUNS_TABLE = 'analytics.rebuild_runs';

export const RUNS_DDL = `create table if not exists ${RUNS_TABLE} (
  run_id          varchar not null,
  started_at      timestamp not null,
  finished_at     timestamp,
  status          varchar not null,
  snapshot_date   date not null,
  models_built    integer not null,
  models          varchar,
  tests_passed    integer not null,
  tests_warned    integer not null,
  tests_failed    integer not null,
  published       boolean not null,
  manifest_key    varchar,
  exported_keys   varchar,
  error           varchar,
  newest_arrival_at timestamp,
  lag_seconds     bigint
)`;

/**
 * Columns added after the table first shipped: a table created by an older version gains them
 * (both engines accept ADD COLUMN IF NOT EXISTS).
 * https://docs.snowflake.com/en/sql-reference/sql/alter-table
 */
export const RUNS_MIGRATIONS = [
  `alter table ${RUNS_TABLE} add column if not exists newest_arrival_at timestamp`,
  `alter table ${RUNS_TABLE} add column if not exists lag_seconds bigint`,
  // a run is recorded when it starts, so it has no finish time yet (both engines accept this on a
  // column that is already nullable)
  `alter table ${RUNS_TABLE} alter column finished_at drop not null`,
];

/** The end-to-end lag of one build: newest S3 arrival among the loaded files -> models built. */
export interface ArrivalLag {
  /** 'YYYY-MM-DD HH:MM:SS' naive UTC, null when nothing is loaded. */
  newestArrivalAt: string | null;
  lagSeconds: number | null;
}

/**
 * Arrival is the file's Last-Modified time in the object store (the load time when unknown), over the
 * rebuild's cut, as the freshness data test reads it. Measured right after the models are built.
 */
export async function measureArrivalLag(wh: Warehouse, builtAt: Date): Promise<ArrivalLag> {
  const [row] = await wh.query(
    `select max(coalesce(u.last_modified, u.recorded_at)) as newest_arrival_at
       from raw.unit_loads u join raw.cut_loads c on c.load_id = u.load_id`,
  );
  const value = row ? Object.entries(row).find(([k]) => k.toLowerCase() === 'newest_arrival_at')?.[1] : null;
  if (value === null || value === undefined) return { newestArrivalAt: null, lagSeconds: null };
  const text = String(value);
  const arrivedMs = Date.parse(text.replace(' ', 'T') + (/[zZ]$/.test(text) ? '' : 'Z'));
  if (Number.isNaN(arrivedMs)) return { newestArrivalAt: null, lagSeconds: null };
  return {
    newestArrivalAt: sqlTimestamp(new Date(arrivedMs)),
    lagSeconds: Math.max(0, Math.round((builtAt.getTime() - arrivedMs) / 1000)),
  };
}

/**
 * published: exported; withheld: an `error` data test failed, nothing exported; built: publishing
 * was not asked for; failed: a model or the export failed (the error is recorded and rethrown);
 * running: started, not finished; abandoned: it died while running (found by the next rebuild).
 */
export type RunStatus = 'published' | 'withheld' | 'built' | 'failed' | 'running' | 'abandoned';

export interface RebuildOptions {
  warehouse?: Warehouse;
  /** Export when the tests allow it (default true). */
  publish?: boolean;
  /** 'YYYY-MM-DD'; default: the UTC date the run starts. */
  snapshotDate?: string;
  runId?: string;
  /** Pseudonymise customer_id in the export (default: config EXPORT_PSEUDONYMISE). */
  pseudonymise?: boolean;
  bucket?: string;
  context?: TemplateContext;
  clock?: () => Date;
  logger?: Logger;
  /** How long a repeat waits for the first run of its request (default 15 minutes). */
  waitMs?: number;
  pollMs?: number;
  /** The run claim's lease (default from the configuration). */
  leaseMs?: number;
}

export interface RebuildResult {
  run_id: string;
  status: RunStatus;
  snapshot_date: string;
  models: string[];
  tests: TestSummary;
  published: boolean;
  manifest_key: string | null;
  exported_keys: string[];
  report: string;
}

export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `rb-${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}

/** Identical rebuild requests without a run_id within this span are one run (a retried invoke). */
export const REQUEST_DEDUP_WINDOW_MS = 15 * 60_000;

export async function rebuild(options: RebuildOptions = {}): Promise<RebuildResult> {
  const clock = options.clock ?? (() => new Date());
  const started = clock();
  const runId = options.runId ?? newRunId(started);
  const snapshotDate = options.snapshotDate ?? started.toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(snapshotDate) || Number.isNaN(Date.parse(`${snapshotDate}T00:00:00Z`))) {
    throw new ConfigError(`snapshot date must be YYYY-MM-DD, got ${JSON.stringify(snapshotDate)}`);
  }
  const wh = options.warehouse ?? defaultWarehouse();
  const log = (options.logger ?? rootLogger).child({ run_id: runId });
  const publish = options.publish ?? true;
  const pseudonymise = options.pseudonymise ?? config().export.pseudonymise;
  const bucket = options.bucket ?? config().buckets.exports;

  const fingerprint = fingerprintOf({ publish, pseudonymise, snapshotDate, bucket, runId: options.runId });
  const claimed = await claimOrWait(
    wh,
    {
      scope: 'rebuild',
      requestKey: options.runId ? `rebuild:run:${options.runId}` : `rebuild:request:${fingerprint}`,
      fingerprint,
      runId,
      replayAfter: options.runId ? undefined : new Date(started.getTime() - REQUEST_DEDUP_WINDOW_MS),
    },
    {
      now: clock,
      leaseMs: options.leaseMs,
      waitMs: options.waitMs,
      pollMs: options.pollMs,
      otherRun: 'refuse',
      describe: (row) => `another rebuild (run ${row.runId}, started ${row.startedAt.toISOString()})`,
      log,
    },
  );
  if (claimed.kind === 'replay') {
    const first = JSON.parse(claimed.row.result ?? 'null') as RebuildResult;
    log.info("rebuild repeated: returning the first run's result", { first_run_id: first.run_id });
    return first;
  }
  const claim = claimed.claim;
  return claim.settle(async () => {
    await ensureRunsTable(wh);
    for (const dead of claimed.abandoned) await markAbandoned(wh, dead.runId, clock(), log);
    await recordStart(wh, { runId, started, snapshotDate });
    return rebuildClaimed({ ...options, runId, snapshotDate, publish, pseudonymise, bucket }, wh, started, clock, log, claim);
  });
}

async function rebuildClaimed(
  options: RebuildOptions & { runId: string; snapshotDate: string; publish: boolean; pseudonymise: boolean; bucket: string },
  wh: Warehouse,
  started: Date,
  clock: () => Date,
  log: Logger,
  claim: RunClaim,
): Promise<RebuildResult> {
  const { runId, snapshotDate, publish, pseudonymise } = options;
  const context = options.context ?? defaultTemplateContext();
  let built: BuiltModel[] = [];
  let results: DataTestResult[] = [];
  let snapshot: SnapshotExport | undefined;
  let lag: ArrivalLag | undefined = undefined; // set once the models are built
  const record = async (status: RunStatus, error?: string) => {
    await recordRun(wh, {
      runId,
      started,
      finished: clock(),
      status,
      snapshotDate,
      built,
      tests: summarise(results),
      snapshot,
      error,
      lag,
    }).catch((err: unknown) => log.error('could not record the rebuild run', { error: errorMessage(err) }));
  };

  log.info('rebuild started', { snapshot_date: snapshotDate, publish, pseudonymise });
  try {
    // one consistent cut of the raw data for every model and test of this run
    const cut = await fixCut(wh, started);
    log.info('raw data cut fixed', { loads: cut.loads });
    built = await buildModels(wh, { context, logger: log });
  } catch (err) {
    if (err instanceof ModelBuildError) built = err.built;
    await record('failed', errorMessage(err));
    throw err;
  }
  // Never the reason a rebuild fails: the lag is monitoring, the models are built.
  lag = await measureArrivalLag(wh, clock()).catch((err: unknown) => {
    log.warn('arrival-to-build lag not measured', { error: errorMessage(err) });
    return undefined;
  });
  if (lag?.lagSeconds != null) {
    log.info('arrival-to-build lag', { newest_arrival_at: lag.newestArrivalAt, lag_seconds: lag.lagSeconds });
    // alarmed in serverless.yml (RebuildArrivalLagAlarm), per stage
    log.metrics('ShoppingPatterns/Rebuild', { ArrivalToBuildLagSeconds: lag.lagSeconds }, { Stage: config().stage });
  }

  let status: RunStatus;
  try {
    results = await runDataTests(wh, { runId, context, logger: log, now: clock() });
    if (summarise(results).failed > 0) {
      status = 'withheld';
      log.error('publishing withheld: data tests of severity error failed', {
        failed: results.filter((r) => r.status === 'fail').map((r) => r.test),
      });
    } else if (!publish) {
      status = 'built';
    } else {
      snapshot = await exportSnapshot(wh, {
        bucket: options.bucket,
        snapshotDate,
        runId,
        pseudonymiseKey: pseudonymise ? await pseudonymisationKey() : undefined,
        // the day's manifest is written only by the run that still holds the claim
        beforeCommit: () => claim.assertHeld(),
      });
      status = 'published';
    }
  } catch (err) {
    await record('failed', errorMessage(err));
    throw err;
  }
  const tests = summarise(results);
  await record(status);
  // off the hot path: what no view can show any more goes (never the reason a rebuild fails)
  await compact(wh, defaultRegistry, clock()).then(
    (r) => log.info('raw layer compacted', r.deleted),
    (err: unknown) => log.warn('raw layer not compacted', { error: errorMessage(err) }),
  );
  log.metrics('ShoppingPatterns/Rebuild', {
    ModelsBuilt: built.length,
    TestsPassed: tests.passed,
    TestsWarned: tests.warned,
    TestsFailed: tests.failed,
    Published: status === 'published' ? 1 : 0,
  });

  const result: Omit<RebuildResult, 'report'> = {
    run_id: runId,
    status,
    snapshot_date: snapshotDate,
    models: built.map((b) => b.name),
    tests,
    published: status === 'published',
    manifest_key: snapshot?.manifestKey ?? null,
    exported_keys: snapshot?.keys ?? [],
  };
  const report = formatRebuildReport(result, built, results, options.bucket);
  log.info('rebuild finished', { status, ...tests, manifest_key: result.manifest_key });
  return { ...result, report };
}

interface RunRecord {
  runId: string;
  started: Date;
  finished: Date;
  status: RunStatus;
  snapshotDate: string;
  built: BuiltModel[];
  tests: TestSummary;
  snapshot: SnapshotExport | undefined;
  error: string | undefined;
  lag?: ArrivalLag;
}

async function ensureRunsTable(wh: Warehouse): Promise<void> {
  await wh.execute(RUNS_DDL);
  for (const sql of RUNS_MIGRATIONS) await wh.execute(sql);
}

/** The run's row, written before any work, so a run that is killed still leaves its trace. */
export async function recordStart(wh: Warehouse, r: { runId: string; started: Date; snapshotDate: string }): Promise<void> {
  await wh.execute(
    `insert into ${RUNS_TABLE} (run_id, started_at, finished_at, status, snapshot_date, models_built, models,
       tests_passed, tests_warned, tests_failed, published, manifest_key, exported_keys, error)
     values (?, ?, null, 'running', ?, 0, '', 0, 0, 0, false, null, '[]', null)`,
    [r.runId, sqlTimestamp(r.started), r.snapshotDate],
  );
}

async function markAbandoned(wh: Warehouse, runId: string, at: Date, log: Logger): Promise<void> {
  log.warn('an earlier rebuild died while running; marking it abandoned', { abandoned_run_id: runId });
  await wh.execute(
    `update ${RUNS_TABLE} set status = 'abandoned', finished_at = ?, error = ? where run_id = ? and status = 'running'`,
    [sqlTimestamp(at), 'the run stopped without finishing (killed or timed out); found by a later rebuild', runId],
  );
}

/** The run's final state, on the row recordStart wrote. */
export async function recordRun(wh: Warehouse, r: RunRecord): Promise<void> {
  await wh.execute(
    `update ${RUNS_TABLE} set finished_at = ?, status = ?, models_built = ?, models = ?,
       tests_passed = ?, tests_warned = ?, tests_failed = ?, published = ?, manifest_key = ?, exported_keys = ?, error = ?,
       newest_arrival_at = ?, lag_seconds = ?
     where run_id = ? and started_at = ?`,
    [
      sqlTimestamp(r.finished),
      r.status,
      r.built.length,
      r.built.map((b) => b.name).join(','),
      r.tests.passed,
      r.tests.warned,
      r.tests.failed,
      r.status === 'published',
      r.snapshot?.manifestKey ?? null,
      JSON.stringify(r.snapshot?.keys ?? []),
      r.error ?? null,
      r.lag?.newestArrivalAt ?? null,
      r.lag?.lagSeconds ?? null,
      r.runId,
      sqlTimestamp(r.started),
    ],
  );
}

export function formatRebuildReport(
  result: Omit<RebuildResult, 'report'>,
  built: BuiltModel[],
  results: DataTestResult[],
  bucket: string,
): string {
  const lines = [`Rebuild ${result.run_id} (snapshot ${result.snapshot_date}): ${result.status}`, `Models built: ${built.length}`];
  for (const b of built) {
    lines.push(`  ${b.name.padEnd(48)} ${b.materialized.padEnd(5)} ${b.rows === undefined ? '' : `${b.rows} rows`}`.trimEnd());
  }
  lines.push(formatTestReport(results, result.run_id));
  if (result.status === 'published') {
    lines.push(`Published: s3://${bucket}/${result.manifest_key}`);
    for (const key of result.exported_keys) lines.push(`  ${key}`);
  } else if (result.status === 'withheld') {
    lines.push('Published: nothing (withheld: a data test of severity error failed)');
  } else {
    lines.push('Published: nothing (publishing not requested)');
  }
  return lines.join('\n');
}
