/**
 * Run claims: at most one run writes a given output at a time, and a repeated request (a retried
 * invoke, a concurrent duplicate) gets the first run's result instead of writing again.
 *
 * A synchronous `sls invoke` that runs longer than the CLI's socket timeout is sent again by the
 * CLI (measured: 5 identical Invoke requests), and EventBridge retries asynchronous invocations, so
 * the transfer and the rebuild must be safe to run twice at once. The claim lives in the warehouse
 * (the one store both engines and every process share), in `analytics.run_claims`:
 *
 * - `scope`: what may be written by one run at a time (a transfer's `s3://bucket/prefix`, `rebuild`).
 * - `request_key`: what makes two requests the same run (the run id, or the request's content when
 *   it names none); `fingerprint`: the request's content, so a run id reused for a different
 *   request is refused instead of answered with another request's result.
 * - `status`: running, succeeded (with its `result`), failed, abandoned. A running claim holds a
 *   lease (`lease_until`) that its holder renews while it works; a claim whose lease ran out belongs
 *   to a run that died (a killed process, a Lambda timeout) and is marked abandoned by the next
 *   claimant, which then runs.
 *
 * Every decision runs in one transaction that first updates the single row of
 * `analytics.run_claims_lock`:
 * - Snowflake enforces no unique constraints, so an insert alone cannot refuse a second claim. An
 *   UPDATE holds its lock until COMMIT, and UPDATE, DELETE and MERGE statements wait for each other,
 *   so claimants pass one at a time; under READ COMMITTED each later statement of the transaction
 *   sees what the previous claimant committed.
 *   https://docs.snowflake.com/en/sql-reference/transactions#resource-locking
 *   https://docs.snowflake.com/en/sql-reference/transactions#isolation-level
 *   https://docs.snowflake.com/en/sql-reference/constraints-overview (not enforced)
 * - DuckDB: optimistic concurrency; the second writer of the lock row gets a conflict error
 *   (transient), and the claim is tried again from the start.
 *   https://duckdb.org/docs/stable/connect/concurrency
 * The tables are created by the code that uses them (portable DDL, as analytics.rebuild_runs is).
 */
import crypto from 'node:crypto';
import { config, type Config } from '../config';
import { InvalidInputError, PipelineError, TransientError, classifyError, errorMessage } from '../errors';
import { logger as rootLogger, type Logger } from '../logger';
import type { Row, Warehouse } from '../warehouse/port';

export const CLAIMS_TABLE = 'analytics.run_claims';
export const CLAIMS_LOCK_TABLE = 'analytics.run_claims_lock';
const LOCK_NAME = 'run_claims';

export const CLAIMS_DDL = [
  `create table if not exists ${CLAIMS_TABLE} (
  scope        varchar not null,
  request_key  varchar not null,
  fingerprint  varchar not null,
  run_id       varchar not null,
  holder       varchar not null,
  status       varchar not null,
  started_at   timestamp not null,
  lease_until  timestamp not null,
  finished_at  timestamp,
  result       varchar,
  error        varchar
)`,
  `create table if not exists ${CLAIMS_LOCK_TABLE} (
  name      varchar not null,
  holder    varchar,
  taken_at  timestamp
)`,
  // two processes seeding at once may insert it twice: harmless, the UPDATE locks every copy
  `insert into ${CLAIMS_LOCK_TABLE} (name)
select v.name from (select '${LOCK_NAME}' as name) v
 where not exists (select 1 from ${CLAIMS_LOCK_TABLE} where name = '${LOCK_NAME}')`,
];

export type ClaimStatus = 'running' | 'succeeded' | 'failed' | 'abandoned';

export interface ClaimRow {
  scope: string;
  requestKey: string;
  fingerprint: string;
  runId: string;
  holder: string;
  status: ClaimStatus;
  startedAt: Date;
  leaseUntil: Date;
  result: string | null;
}

export interface ClaimRequest {
  scope: string;
  requestKey: string;
  fingerprint: string;
  runId: string;
  /** Replay a succeeded run of this request key only when it started after this (content keys). */
  replayAfter?: Date;
}

export interface ClaimOptions {
  now?: () => Date;
  /** How long a claim stays valid without renewal; default leaseMsFor(config()). */
  leaseMs?: number;
  log?: Logger;
}

export type ClaimOutcome =
  | { kind: 'acquired'; claim: RunClaim; abandoned: ClaimRow[] }
  | { kind: 'replay'; row: ClaimRow }
  | { kind: 'busy'; row: ClaimRow; sameRequest: boolean };

/**
 * The lease must outlast the longest statement its holder may be waiting on: Snowflake statements
 * on one session run one at a time (the adapter's mutex), so a renewal can wait behind a long COPY
 * or model build, bounded by the statement timeout.
 */
export function leaseMsFor(cfg: Config): number {
  const statementSeconds = cfg.warehouse.engine === 'snowflake' ? (cfg.warehouse.statementTimeoutSeconds ?? 600) : 0;
  return Math.max(120_000, statementSeconds * 1000 + 60_000);
}

/** SHA-256 of a value's JSON with sorted keys: the same request gives the same fingerprint. */
export function fingerprintOf(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, canonical(x)]),
      );
    }
    return v;
  };
  return crypto.createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex');
}

/** 'YYYY-MM-DD HH:MM:SS.mmm', naive UTC, as both engines store TIMESTAMP. */
export function stamp(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export function parseStamp(v: unknown): Date {
  const text = String(v);
  return new Date(text.includes('T') ? text : `${text.replace(' ', 'T')}Z`);
}

function toClaimRow(r: Row): ClaimRow {
  const get = (k: string) => r[k] ?? r[k.toUpperCase()];
  return {
    scope: String(get('scope')),
    requestKey: String(get('request_key')),
    fingerprint: String(get('fingerprint')),
    runId: String(get('run_id')),
    holder: String(get('holder')),
    status: String(get('status')) as ClaimStatus,
    startedAt: parseStamp(get('started_at')),
    leaseUntil: parseStamp(get('lease_until')),
    result: get('result') === null || get('result') === undefined ? null : String(get('result')),
  };
}

const ready = new WeakSet<Warehouse>();

async function ensureTables(wh: Warehouse): Promise<void> {
  if (ready.has(wh)) return;
  // DDL outside the claim transaction: on Snowflake DDL commits an open transaction
  for (const sql of CLAIMS_DDL) await wh.execute(sql);
  ready.add(wh);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `fn` in one transaction that first updates the lock row, so deciders pass one at a time and
 * each sees what the previous one committed (see the file comment). On DuckDB a second writer of
 * the lock row gets a conflict: the whole decision is tried again. Also used by the transfer run
 * records (shared/delivery/runs.ts), which need the same one-at-a-time insert-if-absent.
 */
export async function underClaimsLock<T>(wh: Warehouse, fn: (tx: Warehouse, holder: string) => Promise<T>, at: Date = new Date()): Promise<T> {
  await ensureTables(wh);
  for (let attempt = 1; ; attempt++) {
    try {
      return await wh.transaction(async (tx) => {
        const holder = crypto.randomUUID();
        await tx.execute(`update ${CLAIMS_LOCK_TABLE} set holder = ?, taken_at = ? where name = ?`, [holder, stamp(at), LOCK_NAME]);
        return fn(tx, holder);
      });
    } catch (err) {
      const e = classifyError(err);
      // DuckDB: another claimant wrote the lock row first; its decision is visible to the next try
      if (!e.retryable || attempt >= 8 || err instanceof InvalidInputError) throw err instanceof PipelineError ? err : e;
      await sleep(20 * attempt + Math.floor(Math.random() * 40));
    }
  }
}

/** One attempt to claim `req.scope` for this run; the decision is taken under the lock row. */
export async function tryClaim(wh: Warehouse, req: ClaimRequest, opts: ClaimOptions = {}): Promise<ClaimOutcome> {
  const now = opts.now ?? (() => new Date());
  const leaseMs = opts.leaseMs ?? leaseMsFor(config());
  const log = opts.log ?? rootLogger;
  const at = now();
  return underClaimsLock(wh, (tx, holder) => decide(tx, holder, req, at, leaseMs, wh, now, log), at);
}

async function decide(
  tx: Warehouse,
  holder: string,
  req: ClaimRequest,
  at: Date,
  leaseMs: number,
  wh: Warehouse,
  now: () => Date,
  log: Logger,
): Promise<ClaimOutcome> {
  const running = (
    await tx.query(
      `select * from ${CLAIMS_TABLE} where status = 'running' and (scope = ? or request_key = ?) order by started_at`,
      [req.scope, req.requestKey],
    )
  ).map(toClaimRow);
  const abandoned: ClaimRow[] = [];
  for (const row of running) {
    if (row.leaseUntil.getTime() > at.getTime()) {
      const sameKey = row.requestKey === req.requestKey;
      if (sameKey && row.fingerprint !== req.fingerprint) throw reusedRunId(req);
      return { kind: 'busy', row, sameRequest: sameKey };
    }
    await tx.execute(
      `update ${CLAIMS_TABLE} set status = 'abandoned', finished_at = ?, error = ? where holder = ? and status = 'running'`,
      [stamp(at), `no renewal since ${row.leaseUntil.toISOString()}: the run died (killed or timed out)`, row.holder],
    );
    abandoned.push({ ...row, status: 'abandoned' });
  }
  const [done] = (
    await tx.query(
      `select * from ${CLAIMS_TABLE} where request_key = ? and status = 'succeeded' and started_at >= ?
        order by started_at desc limit 1`,
      [req.requestKey, stamp(req.replayAfter ?? new Date(0))],
    )
  ).map(toClaimRow);
  if (done) {
    if (done.fingerprint !== req.fingerprint) throw reusedRunId(req);
    return { kind: 'replay', row: done };
  }
  await tx.execute(
    `insert into ${CLAIMS_TABLE} (scope, request_key, fingerprint, run_id, holder, status, started_at, lease_until)
     values (?, ?, ?, ?, ?, 'running', ?, ?)`,
    [req.scope, req.requestKey, req.fingerprint, req.runId, holder, stamp(at), stamp(new Date(at.getTime() + leaseMs))],
  );
  return { kind: 'acquired', claim: new RunClaim(wh, holder, req.runId, leaseMs, now, log), abandoned };
}

function reusedRunId(req: ClaimRequest): InvalidInputError {
  return new InvalidInputError(
    `run_id ${req.runId} was already used for a different request (${req.scope}); use a new run_id`,
  );
}

export interface ClaimOrWaitOptions extends ClaimOptions {
  /** Wait at most this long for a run of the same request to finish. Default 15 minutes. */
  waitMs?: number;
  /** Between looks at a running claim. Default 2 s. */
  pollMs?: number;
  /** A run of a different request holds the scope: wait for it, or refuse at once. */
  otherRun: 'wait' | 'refuse';
  /** Names the run holding the scope, for the error messages. */
  describe: (row: ClaimRow) => string;
}

/** Claim, or wait for the run of the same request and replay it; refuse (or wait for) other runs. */
export async function claimOrWait(
  wh: Warehouse,
  req: ClaimRequest,
  opts: ClaimOrWaitOptions,
): Promise<Exclude<ClaimOutcome, { kind: 'busy' }>> {
  const now = opts.now ?? (() => new Date());
  const deadline = now().getTime() + (opts.waitMs ?? 15 * 60_000);
  for (;;) {
    const outcome = await tryClaim(wh, req, opts);
    if (outcome.kind !== 'busy') return outcome;
    if (!outcome.sameRequest && opts.otherRun === 'refuse') {
      throw new TransientError(`${opts.describe(outcome.row)} is still running; this one was not started: try again when it has finished`);
    }
    if (now().getTime() >= deadline) {
      throw new TransientError(
        `${opts.describe(outcome.row)} is still running (started ${outcome.row.startedAt.toISOString()}); ` +
          'repeat the same request later to get its result',
      );
    }
    (opts.log ?? rootLogger).info('waiting for the run that holds the claim', {
      scope: outcome.row.scope,
      run_id: outcome.row.runId,
    });
    await sleep(opts.pollMs ?? 2000);
  }
}

/** A claim this process holds: renew it while working, check it before committing, settle it. */
export class RunClaim {
  private timer: NodeJS.Timeout | undefined;
  private lost: string | undefined;

  constructor(
    private readonly wh: Warehouse,
    readonly holder: string,
    readonly runId: string,
    private readonly leaseMs: number,
    private readonly now: () => Date,
    private readonly log: Logger,
  ) {}

  /** Push the lease forward; false when the claim is no longer this run's. */
  async renew(): Promise<boolean> {
    const changed = await this.wh.execute(
      `update ${CLAIMS_TABLE} set lease_until = ? where holder = ? and status = 'running'`,
      [stamp(new Date(this.now().getTime() + this.leaseMs)), this.holder],
    );
    if (changed === 0) this.lost ??= 'the claim was taken over or settled by another run';
    return changed > 0;
  }

  /** Renew every quarter lease until stopped (the timer does not keep the process alive). */
  keepAlive(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.renew().catch((err: unknown) => this.log.warn('could not renew the run claim', { error: errorMessage(err) }));
    }, Math.max(50, Math.floor(this.leaseMs / 4)));
    this.timer.unref();
  }

  /** Before the commit marker: this run still holds the claim (and a fresh lease), or it stops. */
  async assertHeld(): Promise<void> {
    if (!this.lost && (await this.renew())) return;
    throw new TransientError(`run ${this.runId} lost its claim (${this.lost ?? 'lease expired'}); nothing was committed`);
  }

  async succeed(result: unknown): Promise<void> {
    this.stop();
    await this.wh.execute(
      `update ${CLAIMS_TABLE} set status = 'succeeded', finished_at = ?, result = ? where holder = ?`,
      [stamp(this.now()), JSON.stringify(result), this.holder],
    );
  }

  /** Record the failure; a later request of the same run may run again. Never throws. */
  async fail(error: unknown): Promise<void> {
    this.stop();
    await this.wh
      .execute(`update ${CLAIMS_TABLE} set status = 'failed', finished_at = ?, error = ? where holder = ? and status = 'running'`, [
        stamp(this.now()),
        errorMessage(error).slice(0, 2000),
        this.holder,
      ])
      .catch((err: unknown) => this.log.warn('could not record the failed run claim', { error: errorMessage(err) }));
  }

  /** Run the claimed work with the lease kept alive; record its result or its failure (and rethrow). */
  async settle<T>(work: () => Promise<T>): Promise<T> {
    this.keepAlive();
    try {
      const result = await work();
      await this.succeed(result);
      return result;
    } catch (err) {
      await this.fail(err);
      throw err;
    } finally {
      this.stop();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
