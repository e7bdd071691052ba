/**
 * Transfer runs: one row per run that was asked for (through the API, by a schedule, or started
 * directly), in `analytics.transfer_runs`, beside the run claims (shared/publish/claims.ts) that
 * say how each attempt went. Both live in the warehouse, so a run's state survives the crash of any
 * process: the API function, the transfer function, the local stack.
 *
 * A run's status is read from both:
 * - `queued`: accepted, no attempt has claimed it yet (or a retry was dispatched after a failure);
 * - `running`: an attempt holds the claim and renews its lease;
 * - `succeeded`: the claim holds the result, exactly what transfer_data returned;
 * - `failed`: the last attempt failed (its error), or died (its lease ran out), or the run could not
 *   start (the destination refused before any claim: the row's error).
 *
 * Rows are added under the claims' lock row, so two requests with the same run id (a retried POST,
 * two dispatchers) make one row: Snowflake enforces no unique constraint.
 */
import { parseStamp, stamp, underClaimsLock, CLAIMS_TABLE } from '../publish/claims';
import type { Row, Warehouse } from '../warehouse/port';

export const RUNS_TABLE = 'analytics.transfer_runs';

export const RUNS_DDL = `create table if not exists ${RUNS_TABLE} (
  run_id        varchar not null,
  request_key   varchar not null,
  fingerprint   varchar not null,
  destination   varchar,
  source_table  varchar not null,
  bucket        varchar not null,
  origin        varchar not null,
  requested_by  varchar,
  request_json  varchar not null,
  accepted_at   timestamp not null,
  dispatched_at timestamp,
  error         varchar,
  error_at      timestamp
)`;

/** Where a run came from. */
export type RunOrigin = 'api' | 'schedule' | 'invoke' | 'cli' | 'direct';

export interface NewRun {
  runId: string;
  /** The run claim's request key (the claims of this run are found by it and the run id). */
  requestKey: string;
  fingerprint: string;
  destination: string | undefined;
  sourceTable: string;
  bucket: string;
  origin: RunOrigin;
  requestedBy: string | undefined;
  /** The request to run, as given (it is resolved again when it runs). */
  request: Record<string, unknown>;
}

export interface RunRecord extends NewRun {
  acceptedAt: Date;
  dispatchedAt: Date | null;
  error: string | null;
  errorAt: Date | null;
}

export interface ClaimState {
  status: 'running' | 'succeeded' | 'failed' | 'abandoned';
  startedAt: Date;
  finishedAt: Date | null;
  leaseUntil: Date;
  result: string | null;
  error: string | null;
}

export type RunState = 'queued' | 'running' | 'succeeded' | 'failed';

/** What GET /transfers/{run_id} answers. */
export interface RunStatus {
  run_id: string;
  status: RunState;
  destination: string | null;
  source_table: string;
  bucket: string;
  origin: string;
  requested_by: string | null;
  accepted_at: string;
  started_at?: string;
  finished_at?: string;
  /** When succeeded: exactly the result transfer_data returned ({file_name, row_count, timestamp, ...}). */
  result?: Record<string, unknown>;
  error?: string;
}

const ready = new WeakSet<Warehouse>();

export async function ensureRunsTable(wh: Warehouse): Promise<void> {
  if (ready.has(wh)) return;
  // DDL outside any transaction: on Snowflake DDL commits an open one
  await wh.execute(RUNS_DDL);
  ready.add(wh);
}

const get = (r: Row, k: string) => r[k] ?? r[k.toUpperCase()];
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const when = (v: unknown): Date | null => (v === null || v === undefined ? null : parseStamp(v));

function toRecord(r: Row): RunRecord {
  let request: Record<string, unknown> = {};
  try {
    request = JSON.parse(String(get(r, 'request_json'))) as Record<string, unknown>;
  } catch {
    // a row written by hand: the status still reads
  }
  return {
    runId: String(get(r, 'run_id')),
    requestKey: String(get(r, 'request_key')),
    fingerprint: String(get(r, 'fingerprint')),
    destination: text(get(r, 'destination')) ?? undefined,
    sourceTable: String(get(r, 'source_table')),
    bucket: String(get(r, 'bucket')),
    origin: String(get(r, 'origin')) as RunOrigin,
    requestedBy: text(get(r, 'requested_by')) ?? undefined,
    request,
    acceptedAt: parseStamp(get(r, 'accepted_at')),
    dispatchedAt: when(get(r, 'dispatched_at')),
    error: text(get(r, 'error')),
    errorAt: when(get(r, 'error_at')),
  };
}

function toClaim(r: Row): ClaimState {
  return {
    status: String(get(r, 'status')) as ClaimState['status'],
    startedAt: parseStamp(get(r, 'started_at')),
    finishedAt: when(get(r, 'finished_at')),
    leaseUntil: parseStamp(get(r, 'lease_until')),
    result: text(get(r, 'result')),
    error: text(get(r, 'error')),
  };
}

export type RecordOutcome =
  | { kind: 'created'; run: RunRecord }
  | { kind: 'exists'; run: RunRecord }
  /** The run id is taken by a different request. */
  | { kind: 'conflict'; run: RunRecord };

/** Add the run unless a row with its run id exists; one decision at a time (the claims' lock). */
export async function recordRun(wh: Warehouse, run: NewRun, at: Date = new Date()): Promise<RecordOutcome> {
  await ensureRunsTable(wh);
  return underClaimsLock(
    wh,
    async (tx) => {
      const rows = (await tx.query(`select * from ${RUNS_TABLE} where run_id = ? order by accepted_at`, [run.runId])).map(toRecord);
      const other = rows.find((r) => r.fingerprint !== run.fingerprint);
      if (other) return { kind: 'conflict', run: other };
      const same = rows.find((r) => r.requestKey === run.requestKey);
      if (same) return { kind: 'exists', run: same };
      await tx.execute(
        `insert into ${RUNS_TABLE} (run_id, request_key, fingerprint, destination, source_table, bucket, origin, requested_by, request_json, accepted_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          run.runId,
          run.requestKey,
          run.fingerprint,
          run.destination ?? null,
          run.sourceTable,
          run.bucket,
          run.origin,
          run.requestedBy ?? null,
          JSON.stringify(run.request),
          stamp(at),
        ],
      );
      return { kind: 'created', run: { ...run, acceptedAt: at, dispatchedAt: null, error: null, errorAt: null } };
    },
    at,
  );
}

/** The run was handed to the transfer function (again). */
export async function markDispatched(wh: Warehouse, runId: string, requestKey: string, at: Date = new Date()): Promise<void> {
  await ensureRunsTable(wh);
  await wh.execute(`update ${RUNS_TABLE} set dispatched_at = ?, error = null, error_at = null where run_id = ? and request_key = ?`, [
    stamp(at),
    runId,
    requestKey,
  ]);
}

/** The run could not start, or its attempt failed before it claimed (no claim holds the reason). */
export async function recordRunError(wh: Warehouse, runId: string, error: string, at: Date = new Date()): Promise<void> {
  await ensureRunsTable(wh);
  await wh.execute(`update ${RUNS_TABLE} set error = ?, error_at = ? where run_id = ?`, [error.slice(0, 2000), stamp(at), runId]);
}

/** A run's record and its latest claim, or undefined for an unknown run id. */
export async function readRun(wh: Warehouse, runId: string): Promise<{ run: RunRecord; claim: ClaimState | undefined } | undefined> {
  await ensureRunsTable(wh);
  const [row] = await wh.query(`select * from ${RUNS_TABLE} where run_id = ? order by accepted_at desc limit 1`, [runId]);
  if (!row) return undefined;
  const run = toRecord(row);
  const [claim] = await wh.query(
    `select status, started_at, finished_at, lease_until, result, error from ${CLAIMS_TABLE}
      where request_key = ? and run_id = ? order by started_at desc limit 1`,
    [run.requestKey, runId],
  );
  return { run, claim: claim ? toClaim(claim) : undefined };
}

/**
 * The status a run's record and latest claim amount to (see the file comment). A dispatch after the
 * latest failed attempt is a retry not yet started; an error after the latest attempt is a start
 * that failed before claiming.
 */
export function deriveStatus(run: RunRecord, claim: ClaimState | undefined, now: Date = new Date()): RunStatus {
  const base: RunStatus = {
    run_id: run.runId,
    status: 'queued',
    destination: run.destination ?? null,
    source_table: run.sourceTable,
    bucket: run.bucket,
    origin: run.origin,
    requested_by: run.requestedBy ?? null,
    accepted_at: run.acceptedAt.toISOString(),
  };
  const after = (a: Date | null, b: Date | null | undefined) => a !== null && (b === null || b === undefined || a.getTime() > b.getTime());
  const startFailed = run.error !== null && after(run.errorAt, claim?.startedAt) && !after(run.dispatchedAt, run.errorAt);
  if (claim?.status === 'succeeded') {
    let result: Record<string, unknown> | undefined;
    try {
      result = JSON.parse(claim.result ?? 'null') as Record<string, unknown>;
    } catch {
      result = undefined;
    }
    return { ...base, status: 'succeeded', started_at: claim.startedAt.toISOString(), finished_at: claim.finishedAt?.toISOString(), result };
  }
  if (startFailed) return { ...base, status: 'failed', error: run.error!, finished_at: run.errorAt!.toISOString() };
  if (!claim) return base;
  if (claim.status === 'running') {
    if (claim.leaseUntil.getTime() > now.getTime()) return { ...base, status: 'running', started_at: claim.startedAt.toISOString() };
    return {
      ...base,
      status: 'failed',
      started_at: claim.startedAt.toISOString(),
      error: `the run stopped renewing its claim at ${claim.leaseUntil.toISOString()}: it died (killed or timed out)`,
    };
  }
  // failed or abandoned: a dispatch since then is a retry not started yet
  if (after(run.dispatchedAt, claim.startedAt)) return base;
  return {
    ...base,
    status: 'failed',
    started_at: claim.startedAt.toISOString(),
    finished_at: claim.finishedAt?.toISOString(),
    error: claim.error ?? (claim.status === 'abandoned' ? 'the run died (killed or timed out)' : 'failed'),
  };
}

export async function runStatus(wh: Warehouse, runId: string, now: Date = new Date()): Promise<RunStatus | undefined> {
  const found = await readRun(wh, runId);
  return found && deriveStatus(found.run, found.claim, now);
}

/**
 * The latest runs with their latest claims, newest first (the run report's deliveries). Portable SQL:
 * the latest claim of each run by row_number(), on DuckDB and Snowflake alike.
 */
export async function recentRuns(wh: Warehouse, limit = 500, now: Date = new Date()): Promise<RunStatus[]> {
  // read-only: the caller checks both tables exist (the run report may hold no DDL grant)
  const rows = await wh.query(
    `with runs as (
       select * from ${RUNS_TABLE} order by accepted_at desc limit ${Math.max(1, Math.floor(limit))}
     ), claims as (
       select c.request_key, c.run_id, c.status as claim_status, c.started_at as claim_started_at,
              c.finished_at as claim_finished_at, c.lease_until as claim_lease_until,
              c.result as claim_result, c.error as claim_error,
              row_number() over (partition by c.request_key, c.run_id order by c.started_at desc) as n
         from ${CLAIMS_TABLE} c
        where c.run_id in (select run_id from runs)
     )
     select runs.*, claims.claim_status, claims.claim_started_at, claims.claim_finished_at,
            claims.claim_lease_until, claims.claim_result, claims.claim_error
       from runs left join claims on claims.request_key = runs.request_key and claims.run_id = runs.run_id and claims.n = 1
      order by runs.accepted_at desc`,
  );
  return rows.map((r) => {
    const claim =
      get(r, 'claim_status') === null || get(r, 'claim_status') === undefined
        ? undefined
        : toClaim({
            status: get(r, 'claim_status'),
            started_at: get(r, 'claim_started_at'),
            finished_at: get(r, 'claim_finished_at'),
            lease_until: get(r, 'claim_lease_until'),
            result: get(r, 'claim_result'),
            error: get(r, 'claim_error'),
          } as Row);
    return deriveStatus(toRecord(r), claim, now);
  });
}
