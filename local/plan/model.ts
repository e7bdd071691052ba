/**
 * The capacity and cost model of ingest: pure functions from a workload to a plan (batching,
 * concurrency, warehouse size, credits and dollars per day) for COPY mode and pipe mode, for the
 * append-only hot path (`append`, the default) and the old dataset lock (`lock`), plus the weekly
 * rebuild that reads what ingest accumulated. The transfer model is in ./transfer.ts.
 *
 * Units: data volumes are decimal (1 MB = 10^6 bytes, 1 GB = 10^9 bytes), as the vendors price them;
 * Lambda memory is in MB of 2^20 bytes, GB-seconds = memory MB / 1024 x seconds.
 *
 * How a day of files becomes a plan (reasoning in docs/SCALE.md):
 * 1. for each warehouse size, the largest batch (<= 1,000 files: one COPY) whose invocation fits half
 *    the ingest timeout; the batching window is the time to fill it, at most 300 s;
 * 2. batches a day = files / files per invocation; Lambda concurrency by Little's law, with the
 *    expected wait for the dataset lock when there is one;
 * 3. every limit becomes a term, demand / what the limit allows (LimitTerm): the Lambda budget, the
 *    warehouse's compute, its statement slots (MAX_CONCURRENCY_LEVEL), the lock, the lock's waiters
 *    (error 000625), the mapping's and the account's concurrency, the invocation payload, the rebuild;
 * 4. the cheapest size whose terms all fit wins; the binding limit is the term closest to (or
 *    furthest past) its limit.
 * Every constant is in ./constants.ts with its source.
 */
import * as C from './constants';
import type { HotPath, WarehouseSize, WriteDesign } from './constants';
import { aggregateS } from './transfer';
import { DAY_S, lambdaGbSeconds } from './units';

export * from './transfer';
export { lambdaGbSeconds, vcpus } from './units';
export type { WriteDesign } from './constants';

export type IngestMode = 'copy' | 'pipe' | 'pipe-legacy';

export interface IngestInput {
  filesPerDay: number;
  /** Average size of a landed object, MB (as stored: compressed if the files are gzipped). */
  mbPerFile: number;
  /** Uncompressed / stored size (1 for plain JSON Lines; about 5-10 for .gz text). Default 1. */
  compressionRatio?: number;
  /** Price of a Snowflake credit, USD. */
  creditUsd?: number;
  /** Longest batching window you accept (freshness), seconds, 0..300. Default 300. */
  maxWindowS?: number;
  /** Evaluate this SQS batch size instead of choosing one (e.g. the deployed ingestBatchSize). 0 = choose. */
  batchSize?: number;
  /** The hot path: `append` (default, no lock) or `lock` (the old dataset lock row). */
  design?: WriteDesign;
  /** Evaluate this ScalingConfig.MaximumConcurrency (e.g. the deployed 5) instead of recommending one. 0 = recommend. */
  maxConcurrency?: number;
  /** The account's regional Lambda concurrency quota. Default 1,000 (new accounts start lower). */
  accountConcurrency?: number;
  /** Days of raw data the weekly rebuild reads. Default 365. */
  historyDays?: number;
}

export type TermName =
  | 'Lambda budget'
  | 'warehouse compute'
  | 'statement slots'
  | 'lock held'
  | 'lock waiters'
  | 'mapping concurrency'
  | 'account concurrency'
  | 'invocation payload'
  | 'rebuild';

/** One limit: demand / what the limit allows, so 1 is at the limit. */
export interface LimitTerm {
  name: TermName;
  ratio: number;
  /** Most terms fit when ratio <= 1; the payload always fits (the mapping cuts the batch). */
  fits: boolean;
  detail: string;
}

export interface WarehouseLoad {
  size: WarehouseSize;
  /** Warehouse wall time of one batch's work (statements + data), s, all its invocations. */
  busyPerBatchS: number;
  /** Fraction of the warehouse's compute used over the day. */
  utilisation: number;
  /** Fraction of the day the statement slots (MAX_CONCURRENCY_LEVEL per cluster) are taken, on average. */
  slotUtilisation: number;
  /** Small statements one cluster of this size runs at once (ASSUMPTION, constants.smallStatementsPerCluster). */
  smallStatementSlots: number;
  billedHoursPerDay: number;
  credits: number;
}

/** The serialising step of the hot path: the dataset lock (`lock`), nothing (`append`). */
export interface Serialisation {
  /** Seconds one batch holds the lock (0: no lock). */
  holdS: number;
  /** Share of the day the lock is held (batches a day x hold / 86,400). */
  utilisation: number;
  /** Expected wait for the lock (M/D/1: rho x hold / (2 (1 - rho))); Infinity when rho >= 1. */
  meanWaitS: number;
  /** Statements that can wait on one lock at once: at a backlog every other invocation (lock), during the compaction (append). */
  waiters: number;
  why: string;
}

export interface ModePlan {
  mode: IngestMode;
  design: WriteDesign;
  /** Every term fits, the rebuild's included. */
  feasible: boolean;
  /** The term that decides: the failing term furthest past its limit, or the fitting term closest to it. */
  binding: LimitTerm;
  /** The same over the ingest terms alone (the warehouse size is chosen on these). */
  ingestFeasible: boolean;
  ingestBinding: LimitTerm;
  terms: LimitTerm[];
  batchSize: number;
  batchingWindowS: number;
  /** SQS records an invocation gets (in pipe mode half are new files, half files coming back to be written). */
  recordsPerInvocation: number;
  /** SQS deliveries a file takes (2 in pipe mode: hand-off, then the delivery that writes it). */
  deliveriesPerFile: number;
  invocationsPerDay: number;
  /** Lambda seconds of an average invocation, including the expected lock wait. */
  lambdaDurationS: number;
  /** A full batch's invocation with the expected lock wait (what must fit the budget). */
  longestInvocationS: number;
  lambdaConcurrencyNeeded: number;
  /** The MaximumConcurrency evaluated (given) or recommended (2 x needed, 2..1,000). */
  lambdaMaxConcurrency: number;
  /** Minutes for the mapping to scale from 5 to the concurrency needed at +300 a minute. */
  rampMinutes: number;
  copyStatementsPerMinute: number;
  statementsPerMinute: number;
  /** Worst-case PutObject -> rows visible. */
  worstLagS: number;
  warehouse: WarehouseLoad;
  serialisation: Serialisation;
  cloudServices: { credits: number; allowance: number; billed: number };
  snowpipeCredits: number;
  snowflakeCredits: number;
  sqsRequestsPerDay: number;
  s3: { putRequests: number; getRequests: number; listRequests: number };
  /** ingest = Lambda + SQS + S3 + Snowflake; total adds the weekly rebuild, amortised over 7 days. */
  usd: {
    lambda: number;
    sqs: number;
    s3: number;
    snowflake: number;
    ingest: number;
    rebuild: number;
    total: number;
  };
  notes: string[];
}

export interface RebuildPlan {
  design: WriteDesign;
  historyDays: number;
  historyGbUncompressed: number;
  /** Reads of the whole history per week: the rebuild's, plus the compaction's for `append`. */
  passes: number;
  /** The smallest size that finishes within the budget (80% of the rebuild's 900 s), else 4X-Large. */
  size: WarehouseSize;
  wallS: number;
  compactionWallS: number;
  budgetS: number;
  fits: boolean;
  creditsPerWeek: number;
}

export interface IngestPlan {
  input: Required<IngestInput>;
  filesPerSecond: number;
  gbPerDay: number;
  gbUncompressedPerDay: number;
  modes: Record<IngestMode, ModePlan>;
  rebuild: RebuildPlan;
  cheapest: IngestMode;
  warnings: string[];
}

/** Load threads of a warehouse size (ASSUMPTION: 8 per X-Small node, doubling per size). */
export function loadThreads(size: WarehouseSize): number {
  return C.XSMALL_LOAD_THREADS * C.WAREHOUSE_CREDITS_PER_HOUR[size];
}

/**
 * Seconds one load thread spends on one file in a COPY: a fixed part plus the file's data at a
 * thread's share of the warehouse's per-GB cost (an X-Small thread-second costs 1 / (3600 x threads) credits).
 */
export function copyThreadSecondsPerFile(fileGbUncompressed: number): number {
  return (
    C.COPY_PER_FILE_THREAD_S +
    fileGbUncompressed * C.COPY_LINES_CREDITS_PER_GB * 3_600 * C.XSMALL_LOAD_THREADS
  );
}

/** Wall seconds of a COPY of `files` equal files: waves of one file per thread. */
export function copyWallS(files: number, fileGbUncompressed: number, size: WarehouseSize): number {
  return Math.ceil(files / loadThreads(size)) * copyThreadSecondsPerFile(fileGbUncompressed);
}

/** Wall seconds to parse `gb` of JSON lines into typed rows on the whole warehouse. */
export function parseWallS(gbUncompressed: number, size: WarehouseSize): number {
  return (gbUncompressed * C.PARSE_JSON_CREDITS_PER_GB * 3_600) / C.WAREHOUSE_CREDITS_PER_HOUR[size];
}

/** Expected wait in an M/D/1 queue (random arrivals, fixed hold): rho x hold / (2 (1 - rho)). */
export function lockWaitS(utilisation: number, holdS: number): number {
  if (holdS <= 0 || utilisation <= 0) return 0;
  if (utilisation >= 1) return Infinity;
  return (utilisation * holdS) / (2 * (1 - utilisation));
}

/** Minutes for a mapping to grow from its first 5 concurrent invokes to `needed`, +300 a minute. */
export function rampMinutes(needed: number): number {
  return Math.ceil(Math.max(0, needed - C.ESM_INITIAL_CONCURRENCY) / C.ESM_SCALE_UP_PER_MINUTE);
}

/** Records of SQS_RECORD_BYTES that fit one invocation's 6 MB payload. */
export function payloadRecordCap(): number {
  return Math.floor(C.LAMBDA_SYNC_PAYLOAD_BYTES / C.SQS_RECORD_BYTES);
}

/** Cloud services billed: what the day used beyond 10% of the day's warehouse credits. */
export function cloudServicesBilled(cloudServicesCredits: number, warehouseCredits: number): number {
  return Math.max(0, cloudServicesCredits - C.CLOUD_SERVICES_FREE_FRACTION * warehouseCredits);
}

export interface BatchCost {
  /** SQS deliveries a file takes: 2 in pipe mode when Snowpipe outlasts the hand-off's wait, else 1. */
  deliveriesPerFile: number;
  /** Wall time of the invocation (no lock wait). */
  lambdaS: number;
  /** Warehouse wall time (keeps it from suspending). */
  warehouseS: number;
  /**
   * Whole-warehouse seconds of compute: the COPY's file work spread over all threads, the parse, and
   * small statements that run smallStatementsPerCluster(size) at once.
   */
  computeS: number;
  /** Seconds of statement slots, in whole statements: a small one counts 1 / (credits per hour) of one. */
  slotS: number;
  /** All Snowflake statements of the invocation; of them, REFRESHes (cloud services only) and COPYs. */
  statements: number;
  refreshes: number;
  copies: number;
  heads: number;
  /** Seconds the invocation holds the dataset lock (0 for `append`). */
  lockHoldS: number;
}

/** Pipe mode: does a file need a second delivery (Snowpipe slower than the hand-off's wait)? */
export function pipeDeliveriesPerFile(design: WriteDesign): number {
  return C.SNOWPIPE_TYPICAL_LATENCY_S > C.HOT_PATHS[design].pipeWaitS ? 2 : 1;
}

/**
 * One invocation with `n` SQS records of files of `fileGbU` GB uncompressed each, on a warehouse of
 * `size`, under `design`. Every statement is a round trip from Lambda; all but REFRESH also run on the
 * warehouse. In pipe mode, when files need two deliveries, a steady stream of records is half new files
 * (handed to Snowpipe: a REFRESH each) and half files Snowpipe has landed (written): the mapping mixes
 * returning records into the same batches as new ones.
 */
export function batchCost(
  mode: IngestMode,
  design: WriteDesign,
  n: number,
  fileGbU: number,
  size: WarehouseSize,
): BatchCost {
  const hp: HotPath = C.HOT_PATHS[design];
  const headS = Math.ceil(n / C.HEAD_PARALLELISM) * C.S3_HEAD_RTT_S;
  const nodes = C.WAREHOUSE_CREDITS_PER_HOUR[size];
  const lockHold = (parse: number) =>
    hp.lockHoldStatements > 0 ? hp.lockHoldStatements * C.SNOWFLAKE_STATEMENT_RTT_S + parse : 0;
  if (mode === 'copy') {
    const parse = parseWallS(n * fileGbU, size);
    const copies = Math.ceil(n / C.COPY_MAX_FILES);
    const statements = hp.copyStatements + copies - 1;
    const copy = copyWallS(n, fileGbU, size);
    return {
      deliveriesPerFile: 1,
      lambdaS: C.LAMBDA_OVERHEAD_S + headS + statements * C.SNOWFLAKE_STATEMENT_RTT_S + copy + parse,
      warehouseS: statements * C.SNOWFLAKE_STATEMENT_EXEC_S + copy + parse,
      computeS:
        (statements * C.SNOWFLAKE_STATEMENT_EXEC_S) / C.smallStatementsPerCluster(size) +
        (n * copyThreadSecondsPerFile(fileGbU)) / loadThreads(size) +
        parse,
      // the COPY and the parsing INSERT take a whole slot for their wall time
      slotS: (statements * C.SNOWFLAKE_STATEMENT_EXEC_S) / nodes + copy + parse,
      statements,
      refreshes: 0,
      copies,
      heads: n,
      // the lock is taken by the transaction that also parses the lines, so the hold includes the parse
      lockHoldS: lockHold(parse),
    };
  }
  const deliveries = pipeDeliveriesPerFile(design);
  const handedOff = n / deliveries;
  const written = n / deliveries;
  const parse = parseWallS(written * fileGbU, size);
  const wait = Math.min(hp.pipeWaitS, C.SNOWPIPE_TYPICAL_LATENCY_S);
  const onWarehouse = hp.pipeHandOffStatements + hp.pipeFinishStatements;
  const statements = onWarehouse + handedOff;
  return {
    deliveriesPerFile: deliveries,
    lambdaS: C.LAMBDA_OVERHEAD_S + headS + statements * C.SNOWFLAKE_STATEMENT_RTT_S + wait + parse,
    warehouseS: onWarehouse * C.SNOWFLAKE_STATEMENT_EXEC_S + parse,
    computeS: (onWarehouse * C.SNOWFLAKE_STATEMENT_EXEC_S) / C.smallStatementsPerCluster(size) + parse,
    slotS: (onWarehouse * C.SNOWFLAKE_STATEMENT_EXEC_S) / nodes + parse,
    statements,
    refreshes: handedOff,
    copies: 0,
    heads: n,
    lockHoldS: lockHold(parse),
  };
}

/**
 * Warehouse seconds billed a day for `invocations` evenly spread invocations of `busyS` each: every
 * one resumes the warehouse (60 s minimum) and keeps it up AUTO_SUSPEND after its work, until they
 * come faster than that and it never suspends.
 */
export function warehouseBilledSeconds(invocationsPerDay: number, busyS: number): number {
  if (invocationsPerDay <= 0) return 0;
  const perInvocation = Math.max(C.WAREHOUSE_MIN_BILLED_S, busyS + C.WAREHOUSE_AUTO_SUSPEND_S);
  return Math.min(DAY_S, invocationsPerDay * perInvocation);
}

/** The batching window that fills `batchSize` at `filesPerSecond`, within the ESM's bounds. */
export function batchingWindowS(batchSize: number, filesPerSecond: number, maxWindowS: number): number {
  const fill = filesPerSecond > 0 ? Math.ceil(batchSize / filesPerSecond) : maxWindowS;
  const min = batchSize > 10 ? C.ESM_MIN_WINDOW_ABOVE_10_S : 0;
  return Math.max(min, Math.min(fill, maxWindowS, C.ESM_MAX_BATCHING_WINDOW_S));
}

/**
 * SQS requests a day: S3's SendMessage per file, receives and batch deletes of 10 (a file delivered
 * twice is received twice), and at least the idle long polls of five pollers.
 */
export function sqsRequestsPerDay(filesPerDay: number, deliveriesPerFile = 1): number {
  const sends = filesPerDay * Math.ceil(C.SQS_RECORD_BYTES / C.SQS_BILLING_CHUNK_BYTES);
  const receives = Math.max(
    (filesPerDay * deliveriesPerFile) / C.SQS_MESSAGES_PER_CALL,
    C.ESM_INITIAL_CONCURRENCY * (DAY_S / C.SQS_LONG_POLL_S),
  );
  const deletes = filesPerDay / C.SQS_MESSAGES_PER_CALL;
  return sends + receives + deletes;
}

/**
 * The weekly rebuild: REBUILD_PASSES_OVER_RAW reads of the whole raw history (plus the compaction's
 * pass for `append`), each at AGGREGATE_CREDITS_PER_GB, in one invocation of the rebuild function.
 */
export function planRebuild(
  gbUncompressedPerDay: number,
  historyDays: number,
  design: WriteDesign,
): RebuildPlan {
  const historyGb = gbUncompressedPerDay * historyDays;
  const compaction = design === 'append' ? C.COMPACTION_PASSES_OVER_RAW : 0;
  const passes = C.REBUILD_PASSES_OVER_RAW + compaction;
  const budgetS = C.REBUILD_TIMEOUT_S * C.REBUILD_DURATION_BUDGET_FRACTION;
  const wall = (size: WarehouseSize) => aggregateS(passes * historyGb, size);
  const size = C.WAREHOUSE_SIZES.find((s) => wall(s) <= budgetS) ?? '4X-Large';
  const wallS = wall(size);
  return {
    design,
    historyDays,
    historyGbUncompressed: historyGb,
    passes,
    size,
    wallS,
    compactionWallS: aggregateS(compaction * historyGb, size),
    budgetS,
    fits: wallS <= budgetS,
    creditsPerWeek: (Math.max(C.WAREHOUSE_MIN_BILLED_S, wallS) / 3_600) * C.WAREHOUSE_CREDITS_PER_HOUR[size],
  };
}

function checkInput(input: IngestInput): Required<IngestInput> {
  const full: Required<IngestInput> = {
    compressionRatio: 1,
    creditUsd: C.CREDIT_USD_DEFAULT,
    maxWindowS: C.ESM_MAX_BATCHING_WINDOW_S,
    batchSize: 0,
    design: 'append',
    maxConcurrency: 0,
    accountConcurrency: C.LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY,
    historyDays: C.DEFAULT_HISTORY_DAYS,
    ...input,
  };
  const positive = (name: string, v: number) => {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${v}`);
  };
  positive('files per day', full.filesPerDay);
  positive('MB per file', full.mbPerFile);
  positive('compression ratio', full.compressionRatio);
  positive('credit price', full.creditUsd);
  positive('account concurrency', full.accountConcurrency);
  positive('history days', full.historyDays);
  if (
    !Number.isFinite(full.maxWindowS) ||
    full.maxWindowS < 0 ||
    full.maxWindowS > C.ESM_MAX_BATCHING_WINDOW_S
  ) {
    throw new RangeError(`max window must be 0..${C.ESM_MAX_BATCHING_WINDOW_S} s, got ${full.maxWindowS}`);
  }
  if (!Number.isInteger(full.batchSize) || full.batchSize < 0 || full.batchSize > C.ESM_MAX_BATCH_SIZE) {
    throw new RangeError(
      `batch size must be an integer 1..${C.ESM_MAX_BATCH_SIZE} (0 to choose), got ${full.batchSize}`,
    );
  }
  if (
    !Number.isInteger(full.maxConcurrency) ||
    (full.maxConcurrency !== 0 &&
      (full.maxConcurrency < C.ESM_MIN_MAX_CONCURRENCY || full.maxConcurrency > C.ESM_MAX_MAX_CONCURRENCY))
  ) {
    throw new RangeError(
      `max concurrency must be an integer ${C.ESM_MIN_MAX_CONCURRENCY}..${C.ESM_MAX_MAX_CONCURRENCY} (0 to recommend), got ${full.maxConcurrency}`,
    );
  }
  if (full.design !== 'append' && full.design !== 'lock') {
    throw new RangeError(`design must be append or lock, got ${String(full.design)}`);
  }
  return full;
}

const pct = (x: number) => `${Number.isFinite(x) ? Math.round(x * 100) : '∞'}%`;
const ceilText = (x: number) => String(Math.ceil(x));
const secs = (x: number) =>
  Number.isFinite(x)
    ? `${x >= 1_000 ? Math.round(x).toLocaleString('en-US') : Math.round(x * 10) / 10} s`
    : 'unbounded';

/**
 * The failing term furthest past its limit; when all fit, the one closest to its limit. A lock held
 * longer than the target comes first: its waits are what push the Lambda and concurrency terms past
 * theirs (to infinity once it is held all day).
 */
export function bindingTerm(terms: LimitTerm[]): LimitTerm {
  const failing = terms.filter((t) => !t.fits);
  const lock = failing.find((t) => t.name === 'lock held');
  if (lock) return lock;
  const pool = failing.length > 0 ? failing : terms;
  return pool.reduce((a, b) => (b.ratio > a.ratio ? b : a));
}

function planMode(
  mode: IngestMode,
  input: Required<IngestInput>,
  fps: number,
  gbUPerDay: number,
  rebuild: RebuildPlan,
): ModePlan {
  const design = input.design;
  const fileGbU = (input.mbPerFile * 1e6 * input.compressionRatio) / 1e9;
  const budget = C.INGEST_TIMEOUT_S * C.INGEST_DURATION_BUDGET_FRACTION;
  const recordCap = payloadRecordCap();
  const deliveries = mode === 'copy' ? 1 : pipeDeliveriesPerFile(design);
  const recordsPerSecond = fps * deliveries;
  const target = C.WAREHOUSE_TARGET_UTILISATION;
  const plans: ModePlan[] = [];
  for (const size of C.WAREHOUSE_SIZES) {
    // a full batch must fit: after an outage the backlog fills every batch to the batch size; the
    // mapping never hands over more records than the 6 MB payload holds
    const requested = input.batchSize > 0 ? [input.batchSize] : C.BATCH_SIZE_CANDIDATES;
    const candidates = requested.map((b) => Math.min(b, recordCap));
    const fitting = candidates.find((b) => batchCost(mode, design, b, fileGbU, size).lambdaS <= budget);
    const notes: string[] = [];
    const chosen = fitting ?? candidates[candidates.length - 1]!;
    const window = batchingWindowS(chosen, recordsPerSecond, input.maxWindowS);
    const records = Math.min(chosen, Math.max(1, recordsPerSecond * window));
    const invocations = (input.filesPerDay * deliveries) / records;
    const rate = invocations / DAY_S;
    const cost = batchCost(mode, design, records, fileGbU, size);
    const full = batchCost(mode, design, chosen, fileGbU, size);

    // serialisation: the lock is one table's, so every batch of every dataset queues on it
    const lockUtil = rate * cost.lockHoldS;
    const meanWait = lockWaitS(lockUtil, cost.lockHoldS);
    const lambdaS = cost.lambdaS + meanWait;
    const needed = rate * lambdaS;
    const maxConcurrency =
      input.maxConcurrency > 0
        ? input.maxConcurrency
        : Number.isFinite(needed)
          ? Math.min(C.ESM_MAX_MAX_CONCURRENCY, Math.max(C.ESM_MIN_MAX_CONCURRENCY, Math.ceil(2 * needed)))
          : C.ESM_MAX_MAX_CONCURRENCY;
    // append: no lock in the hot path; the weekly compaction's DELETE may hold back the INSERTs that
    // arrive while it runs (Snowflake: they "sometimes" run in parallel), at most one per running invocation
    const waiters =
      design === 'lock'
        ? maxConcurrency - 1
        : Math.min(maxConcurrency, Math.ceil(rate * rebuild.compactionWallS));
    const utilisation = rate * cost.computeS;
    const slotUtilisation = (rate * cost.slotS) / C.WAREHOUSE_MAX_CONCURRENCY_LEVEL;
    const mappingCap = Math.min(maxConcurrency, C.ESM_MAX_CONCURRENT_INVOKES);
    const longest = full.lambdaS + meanWait;
    const neededText = Number.isFinite(needed) ? ceilText(needed) : '∞';
    const batchRecords = input.batchSize > 0 ? input.batchSize : chosen;
    const terms: LimitTerm[] = [
      {
        name: 'Lambda budget',
        ratio: longest / budget,
        fits: longest <= budget,
        detail: `a full batch of ${chosen} records takes ${secs(longest)} of the ${budget} s budget (half the ${C.INGEST_TIMEOUT_S} s timeout)`,
      },
      {
        name: 'warehouse compute',
        ratio: utilisation / target,
        fits: utilisation <= target,
        detail: `${size} busy ${pct(utilisation)} of the day (target ${pct(target)})`,
      },
      {
        name: 'statement slots',
        ratio: slotUtilisation / target,
        fits: slotUtilisation <= target,
        detail: `MAX_CONCURRENCY_LEVEL ${C.WAREHOUSE_MAX_CONCURRENCY_LEVEL} per cluster (${C.smallStatementsPerCluster(size)} small statements on ${size}) taken ${pct(slotUtilisation)} of the day`,
      },
      {
        name: 'lock held',
        ratio: lockUtil / target,
        fits: lockUtil <= target,
        detail:
          design === 'lock'
            ? `the dataset lock held ${pct(lockUtil)} of the day (${secs(cost.lockHoldS)} an invocation), expected wait ${secs(meanWait)}`
            : 'no lock: the hot path only appends (INSERT, COPY), which Snowflake runs in parallel',
      },
      {
        name: 'lock waiters',
        ratio: waiters / C.LOCK_WAITER_LIMIT,
        fits: waiters <= C.LOCK_WAITER_LIMIT,
        detail:
          design === 'lock'
            ? `at a backlog ${waiters} invocations wait on the lock (Snowflake aborts beyond ${C.LOCK_WAITER_LIMIT}, error 000625)`
            : `at most ${waiters} INSERTs wait behind the weekly compaction's DELETE (limit ${C.LOCK_WAITER_LIMIT})`,
      },
      {
        name: 'mapping concurrency',
        ratio: needed / mappingCap,
        fits: needed <= mappingCap,
        detail: `${neededText} concurrent invocations needed, MaximumConcurrency ${maxConcurrency} (a mapping reaches ${C.ESM_MAX_CONCURRENT_INVOKES} at most)`,
      },
      {
        name: 'account concurrency',
        ratio: needed / input.accountConcurrency,
        fits: needed <= input.accountConcurrency,
        detail: `${neededText} of the account's ${input.accountConcurrency}`,
      },
      {
        name: 'invocation payload',
        ratio: (batchRecords * C.SQS_RECORD_BYTES) / C.LAMBDA_SYNC_PAYLOAD_BYTES,
        fits: true,
        detail: `${batchRecords} records of ${C.SQS_RECORD_BYTES} bytes against 6 MB (the mapping cuts a batch to ${recordCap} records)`,
      },
    ];
    if (mode !== 'copy') {
      notes.push(
        'one ALTER PIPE ... REFRESH per file, which Snowflake says "is not intended for regular use"' +
          (deliveries > 1
            ? `; Snowpipe takes about ${C.SNOWPIPE_TYPICAL_LATENCY_S} s and the hand-off follows it for ${C.HOT_PATHS[design].pipeWaitS} s, so every file waits ${C.HOT_PATHS[design].pipeRedeliveryS} s for the delivery that writes it`
            : ''),
      );
    }
    if (fitting === undefined) {
      notes.push(
        input.batchSize > 0
          ? `a full batch of ${input.batchSize} takes longer than ${budget} s on ${size}`
          : `one file takes longer than ${budget} s to land on ${size}`,
      );
    }

    const billedS = warehouseBilledSeconds(invocations, cost.warehouseS);
    const warehouseCredits = (billedS / 3_600) * C.WAREHOUSE_CREDITS_PER_HOUR[size];
    const csCredits = invocations * cost.statements * C.CLOUD_SERVICES_CREDITS_PER_STATEMENT;
    const csBilled = cloudServicesBilled(csCredits, warehouseCredits);
    let snowpipeCredits = 0;
    if (mode === 'pipe') snowpipeCredits = gbUPerDay * C.SNOWPIPE_CREDITS_PER_GB;
    if (mode === 'pipe-legacy') {
      const fileWork =
        (input.filesPerDay * copyThreadSecondsPerFile(fileGbU)) / (3_600 * C.XSMALL_LOAD_THREADS);
      snowpipeCredits =
        (input.filesPerDay / 1_000) * C.SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES +
        fileWork * C.SNOWPIPE_LEGACY_COMPUTE_MULTIPLIER;
    }
    const snowflakeCredits = warehouseCredits + snowpipeCredits + csBilled;
    const sqs = sqsRequestsPerDay(input.filesPerDay, deliveries);
    // the producer's PUT (multipart above 5 GB: roughly one PUT per 100 MB part); Snowflake's GET;
    // the loader's HEAD at every delivery; the LIST of each REFRESH (ASSUMPTION)
    const putsPerFile =
      input.mbPerFile * 1e6 > C.S3_MAX_SINGLE_PUT_BYTES ? Math.ceil(input.mbPerFile / 100) + 2 : 1;
    const s3 = {
      putRequests: input.filesPerDay * putsPerFile,
      getRequests: input.filesPerDay + invocations * cost.heads,
      listRequests: invocations * cost.refreshes * C.S3_LISTS_PER_PIPE_REFRESH,
    };
    const lambdaUsd =
      invocations * C.LAMBDA_USD_PER_REQUEST +
      lambdaGbSeconds(C.INGEST_MEMORY_MB, invocations * lambdaS) * C.LAMBDA_USD_PER_GB_SECOND;
    const sqsUsd = sqs * C.SQS_USD_PER_REQUEST;
    const s3Usd =
      s3.putRequests * C.S3_USD_PER_PUT +
      s3.getRequests * C.S3_USD_PER_GET +
      s3.listRequests * C.S3_USD_PER_LIST;
    const snowflakeUsd = snowflakeCredits * input.creditUsd;
    const ingestUsd = lambdaUsd + sqsUsd + s3Usd + snowflakeUsd;
    const rebuildUsd = (rebuild.creditsPerWeek / 7) * input.creditUsd;
    // worst lag: a full window, then the invocation; in pipe mode a file waits for its second delivery
    // (the pending delay; with the lock, the visibility timeout) and up to another window; with the
    // lock, behind every other waiter
    const worstLockWait = design === 'lock' ? Math.max(0, maxConcurrency - 1) * cost.lockHoldS : 0;
    const worstLagS =
      window + (deliveries > 1 ? C.HOT_PATHS[design].pipeRedeliveryS + window : 0) + cost.lambdaS + worstLockWait;
    plans.push({
      mode,
      design,
      feasible: terms.every((t) => t.fits),
      binding: bindingTerm(terms),
      ingestFeasible: terms.every((t) => t.fits),
      ingestBinding: bindingTerm(terms),
      terms,
      batchSize: chosen,
      batchingWindowS: window,
      recordsPerInvocation: records,
      deliveriesPerFile: deliveries,
      invocationsPerDay: invocations,
      lambdaDurationS: lambdaS,
      longestInvocationS: longest,
      lambdaConcurrencyNeeded: needed,
      lambdaMaxConcurrency: maxConcurrency,
      rampMinutes: Number.isFinite(needed) ? rampMinutes(needed) : Infinity,
      copyStatementsPerMinute: (invocations * cost.copies) / 1_440,
      statementsPerMinute: (invocations * cost.statements) / 1_440,
      worstLagS,
      warehouse: {
        size,
        busyPerBatchS: cost.warehouseS,
        utilisation,
        slotUtilisation,
        smallStatementSlots: C.smallStatementsPerCluster(size),
        billedHoursPerDay: billedS / 3_600,
        credits: warehouseCredits,
      },
      serialisation: {
        holdS: cost.lockHoldS,
        utilisation: lockUtil,
        meanWaitS: meanWait,
        waiters,
        why:
          design === 'lock'
            ? 'every write transaction first updates its dataset row in raw.ingest_lock and holds it until COMMIT; UPDATE on a standard table locks the table, so all batches queue on it'
            : 'none: the hot path runs INSERT and COPY only, which write new partitions and which Snowflake documents as able to run in parallel; "newest version wins" is resolved at read time and the DELETE of replaced rows runs weekly',
      },
      cloudServices: {
        credits: csCredits,
        allowance: C.CLOUD_SERVICES_FREE_FRACTION * warehouseCredits,
        billed: csBilled,
      },
      snowpipeCredits,
      snowflakeCredits,
      sqsRequestsPerDay: sqs,
      s3,
      usd: {
        lambda: lambdaUsd,
        sqs: sqsUsd,
        s3: s3Usd,
        snowflake: snowflakeUsd,
        ingest: ingestUsd,
        rebuild: rebuildUsd,
        total: ingestUsd + rebuildUsd,
      },
      notes,
    });
  }
  const fitting = plans.filter((p) => p.feasible);
  if (fitting.length > 0) {
    // the cheapest size that fits (the smaller on a tie)
    return fitting.reduce((a, b) => (b.snowflakeCredits < a.snowflakeCredits - 1e-9 ? b : a));
  }
  // nothing fits: the size that comes closest, marked infeasible (the smallest within 1% of the closest,
  // so a bigger warehouse is not chosen for a rounding's worth of parse time)
  const best = Math.min(...plans.map((p) => p.binding.ratio));
  const closest = plans.find((p) => p.binding.ratio <= best * 1.01)!;
  return {
    ...closest,
    notes: [
      ...closest.notes,
      `no warehouse size fits every limit: shown, the size that comes closest (${closest.binding.name})`,
    ],
  };
}

/** The plan with the rebuild's term added: a row fits only if ingest and the rebuild both fit. */
function withRebuild(p: ModePlan, rebuild: RebuildPlan): ModePlan {
  const term: LimitTerm = {
    name: 'rebuild',
    ratio: rebuild.wallS / rebuild.budgetS,
    fits: rebuild.fits,
    detail: `${rebuild.passes} reads of ${Math.round(rebuild.historyGbUncompressed).toLocaleString('en-US')} GB (${rebuild.historyDays} days) take ${secs(rebuild.wallS)} on ${rebuild.size} of the ${rebuild.budgetS} s budget`,
  };
  const terms = [...p.terms, term];
  return { ...p, terms, feasible: p.ingestFeasible && term.fits, binding: bindingTerm(terms) };
}

export function planIngest(raw: IngestInput): IngestPlan {
  const input = checkInput(raw);
  const fps = input.filesPerDay / DAY_S;
  const gbPerDay = (input.filesPerDay * input.mbPerFile) / 1_000;
  const gbU = gbPerDay * input.compressionRatio;
  const rebuild = planRebuild(gbU, input.historyDays, input.design);
  const mode = (m: IngestMode) => withRebuild(planMode(m, input, fps, gbU, rebuild), rebuild);
  const modes = { copy: mode('copy'), pipe: mode('pipe'), 'pipe-legacy': mode('pipe-legacy') };
  const current: IngestMode[] = ['copy', 'pipe'];
  const cheapest = current.reduce((a, b) => (rank(modes[b]) < rank(modes[a]) ? b : a));
  return {
    input,
    filesPerSecond: fps,
    gbPerDay,
    gbUncompressedPerDay: gbU,
    modes,
    rebuild,
    cheapest,
    warnings: warnings(input, fps, modes),
  };
}

/** The deployed settings of serverless.yml (batch 10, window 5 s, MaximumConcurrency 5) for a workload. */
export function deployedInput(workload: IngestInput): IngestInput {
  return {
    ...workload,
    batchSize: C.DEPLOYED.batchSize,
    maxWindowS: C.DEPLOYED.batchingWindowS,
    maxConcurrency: C.DEPLOYED.maximumConcurrency,
  };
}

/** Plans whose ingest fits first, then by ingest dollars a day (the rebuild is the same for both modes). */
function rank(p: ModePlan): number {
  return (p.ingestFeasible ? 0 : 1e15) + p.usd.ingest;
}

function warnings(input: Required<IngestInput>, fps: number, modes: Record<IngestMode, ModePlan>): string[] {
  const w: string[] = [];
  const mb = input.mbPerFile;
  if (mb < 1) {
    w.push(
      `files of ${fmt(mb)} MB are far below Snowflake's ${C.RECOMMENDED_FILE_MB.min}-${C.RECOMMENDED_FILE_MB.max} MB: per-file costs (S3 PUT, HEAD, COPY overhead) dominate; combine files upstream if you can`,
    );
  }
  if (mb * 1e6 > C.S3_MAX_SINGLE_PUT_BYTES)
    w.push(`files of ${fmt(mb)} MB need multipart uploads (one PUT carries at most 5 GB)`);
  if (mb / 1_000 >= C.NOT_RECOMMENDED_FILE_GB)
    w.push(
      `files of ${fmt(mb / 1000)} GB: Snowflake does not recommend loading files of 100 GB or more; split them`,
    );
  if (fps > C.S3_PUT_PER_S_PER_PREFIX) {
    w.push(
      `${fmt(fps)} PUT/s exceeds ${C.S3_PUT_PER_S_PER_PREFIX}/s per partitioned prefix: spread keys over several prefixes (one d=YYYY-MM-DD prefix a day is not enough)`,
    );
  }
  const copy = modes.copy;
  if (copy.lambdaMaxConcurrency > copy.warehouse.smallStatementSlots) {
    w.push(
      `MaximumConcurrency ${copy.lambdaMaxConcurrency} is above the ${copy.warehouse.smallStatementSlots} small statements a ${copy.warehouse.size} cluster runs at once: at a backlog statements queue (a multi-cluster warehouse in Auto-scale mode starts clusters instead)`,
    );
  }
  if (
    copy.lambdaMaxConcurrency > C.LAMBDA_NEW_ACCOUNT_CONCURRENCY &&
    input.accountConcurrency >= C.LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY
  ) {
    w.push(
      `MaximumConcurrency ${copy.lambdaMaxConcurrency} needs the default account quota: a new account's reduced quota (${C.LAMBDA_NEW_ACCOUNT_CONCURRENCY} observed) throttles it; check aws lambda get-account-settings`,
    );
  }
  if (!copy.feasible) w.push(...copy.notes.map((n) => `copy mode: ${n}`));
  if (copy.serialisation.waiters > C.LOCK_WAITER_LIMIT && input.design === 'lock') {
    w.push(
      `copy mode: at a backlog ${copy.serialisation.waiters} statements wait on the dataset lock; Snowflake aborts those beyond ${C.LOCK_WAITER_LIMIT} (000625), and after ${C.DEPLOYED.maxReceiveCount} receives a record goes to the DLQ`,
    );
  }
  const pipe = modes.pipe;
  for (const m of [copy, pipe]) {
    if (m.cloudServices.billed > 0) {
      w.push(
        `${m.mode} mode: cloud services ${fmt(m.cloudServices.credits)} credits a day exceed the 10% allowance (${fmt(m.cloudServices.allowance)}): ${fmt(m.cloudServices.billed)} billed`,
      );
    }
  }
  return w;
}

function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return String(Math.round(n * 100) / 100);
}
