/**
 * The capacity and cost model: pure functions from a workload to a plan (batching, concurrency,
 * warehouse size, credits and dollars per day), for ingest in copy mode and pipe mode, and for the
 * transfer of a table (streaming through one Lambda, fanned out per month, or unloaded by Snowflake).
 *
 * Units: data volumes are decimal (1 MB = 10^6 bytes, 1 GB = 10^9 bytes), as the vendors price them;
 * Lambda memory is in MB of 2^20 bytes, GB-seconds = memory MB / 1024 x seconds.
 *
 * How a day of files becomes a plan (reasoning in docs/SCALE.md):
 * 1. for each warehouse size, the largest batch (<= 1,000 files: one COPY) whose invocation fits half
 *    the ingest timeout; the batching window is the time to fill it, at most 300 s;
 * 2. invocations a day = files / files per invocation; Lambda concurrency by Little's law;
 * 3. the warehouse is busy for each batch's statements and data work, and billed from each resume
 *    (60 s minimum) until AUTO_SUSPEND after the work, or all day when batches arrive faster than that;
 * 4. the cheapest size whose busy fraction stays under the target utilisation wins.
 * Every constant is in ./constants.ts with its source.
 */
import * as C from './constants';
import type { WarehouseSize } from './constants';

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
}

export interface WarehouseLoad {
  size: WarehouseSize;
  /** Warehouse wall time of one batch's work (statements + data), s. */
  busyPerBatchS: number;
  /** Fraction of the warehouse's capacity used over the day. */
  utilisation: number;
  billedHoursPerDay: number;
  credits: number;
}

export interface ModePlan {
  mode: IngestMode;
  feasible: boolean;
  batchSize: number;
  batchingWindowS: number;
  filesPerInvocation: number;
  invocationsPerDay: number;
  lambdaDurationS: number;
  lambdaConcurrencyNeeded: number;
  lambdaMaxConcurrency: number;
  copyStatementsPerMinute: number;
  statementsPerMinute: number;
  /** Worst-case PutObject -> rows visible: a full window plus the invocation. */
  worstLagS: number;
  warehouse: WarehouseLoad;
  snowpipeCredits: number;
  snowflakeCredits: number;
  usd: { lambda: number; sqs: number; s3: number; snowflake: number; total: number };
  notes: string[];
}

export interface IngestPlan {
  input: Required<IngestInput>;
  filesPerSecond: number;
  gbPerDay: number;
  gbUncompressedPerDay: number;
  sqsRequestsPerDay: number;
  s3: { putRequests: number; getRequests: number };
  modes: Record<IngestMode, ModePlan>;
  cheapest: IngestMode;
  warnings: string[];
}

const DAY_S = 86_400;

export function vcpus(memoryMb: number): number {
  return memoryMb / C.LAMBDA_MB_PER_VCPU;
}

export function lambdaGbSeconds(memoryMb: number, seconds: number): number {
  return (memoryMb / 1024) * seconds;
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

interface BatchCost {
  /** Wall time of the invocation. */
  lambdaS: number;
  /** Wall time the warehouse is working for this batch (keeps it from suspending). */
  warehouseS: number;
  /**
   * Share of the warehouse's capacity the batch uses, in whole-warehouse seconds: the COPY's file
   * work spread over all threads, the parse, and small statements that run MAX_CONCURRENCY_LEVEL at once.
   */
  capacityS: number;
  statements: number;
  copies: number;
}

/** One invocation with `n` files of `fileGbU` GB uncompressed each. */
export function batchCost(mode: IngestMode, n: number, fileGbU: number, size: WarehouseSize): BatchCost {
  const heads = Math.ceil(n / C.HEAD_PARALLELISM) * C.S3_HEAD_RTT_S;
  const parse = parseWallS(n * fileGbU, size);
  if (mode === 'copy') {
    const copy = copyWallS(n, fileGbU, size);
    const copies = Math.ceil(n / C.COPY_MAX_FILES);
    const statements = C.STATEMENTS_PER_BATCH + copies - 1;
    return {
      lambdaS: C.LAMBDA_OVERHEAD_S + heads + statements * C.SNOWFLAKE_STATEMENT_RTT_S + copy + parse,
      warehouseS: statements * C.SNOWFLAKE_STATEMENT_EXEC_S + copy + parse,
      capacityS:
        (statements * C.SNOWFLAKE_STATEMENT_EXEC_S) / C.WAREHOUSE_MAX_CONCURRENCY_LEVEL +
        (n * copyThreadSecondsPerFile(fileGbU)) / loadThreads(size) +
        parse,
      statements,
      copies,
    };
  }
  // pipe: no COPY on the warehouse; one ALTER PIPE ... REFRESH per file (cloud services) and
  // COPY_HISTORY polls while Snowpipe loads. Snowpipe's latency is modelled as an X-Small's COPY of
  // the batch (ASSUMPTION), and the loader waits at most PIPE_WAIT_S before SQS redelivers.
  const snowpipeWait = Math.min(
    C.PIPE_WAIT_S,
    Math.ceil(n / loadThreads('X-Small')) * copyThreadSecondsPerFile(fileGbU),
  );
  const statements =
    C.STATEMENTS_PER_BATCH - 1 + n * C.PIPE_STATEMENTS_PER_FILE + C.PIPE_HISTORY_POLLS_PER_BATCH;
  const onWarehouse =
    (C.STATEMENTS_PER_BATCH - 1 + C.PIPE_HISTORY_POLLS_PER_BATCH) * C.SNOWFLAKE_STATEMENT_EXEC_S;
  return {
    lambdaS: C.LAMBDA_OVERHEAD_S + heads + statements * C.SNOWFLAKE_STATEMENT_RTT_S + snowpipeWait + parse,
    warehouseS: onWarehouse + parse,
    capacityS: onWarehouse / C.WAREHOUSE_MAX_CONCURRENCY_LEVEL + parse,
    statements,
    copies: 0,
  };
}

/**
 * Warehouse seconds billed a day for `invocations` evenly spread batches of `busyS` each: every
 * batch resumes the warehouse (60 s minimum) and keeps it up AUTO_SUSPEND after its work, until the
 * batches come faster than that and it never suspends.
 */
export function warehouseBilledSeconds(invocationsPerDay: number, busyS: number): number {
  if (invocationsPerDay <= 0) return 0;
  const perBatch = Math.max(C.WAREHOUSE_MIN_BILLED_S, busyS + C.WAREHOUSE_AUTO_SUSPEND_S);
  return Math.min(DAY_S, invocationsPerDay * perBatch);
}

/** The batching window that fills `batchSize` at `filesPerSecond`, within the ESM's bounds. */
export function batchingWindowS(batchSize: number, filesPerSecond: number, maxWindowS: number): number {
  const fill = filesPerSecond > 0 ? Math.ceil(batchSize / filesPerSecond) : maxWindowS;
  const min = batchSize > 10 ? C.ESM_MIN_WINDOW_ABOVE_10_S : 0;
  return Math.max(min, Math.min(fill, maxWindowS, C.ESM_MAX_BATCHING_WINDOW_S));
}

function checkInput(input: IngestInput): Required<IngestInput> {
  const full: Required<IngestInput> = {
    compressionRatio: 1,
    creditUsd: C.CREDIT_USD_DEFAULT,
    maxWindowS: C.ESM_MAX_BATCHING_WINDOW_S,
    batchSize: 0,
    ...input,
  };
  const positive = (name: string, v: number) => {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${v}`);
  };
  positive('files per day', full.filesPerDay);
  positive('MB per file', full.mbPerFile);
  positive('compression ratio', full.compressionRatio);
  positive('credit price', full.creditUsd);
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
  return full;
}

function planMode(
  mode: IngestMode,
  input: Required<IngestInput>,
  fps: number,
  gbUPerDay: number,
  sqsUsd: number,
  s3Usd: number,
): ModePlan {
  const fileGbU = (input.mbPerFile * 1e6 * input.compressionRatio) / 1e9;
  const budget = C.INGEST_TIMEOUT_S * C.INGEST_DURATION_BUDGET_FRACTION;
  let best: ModePlan | undefined;
  let last: ModePlan | undefined;
  for (const size of C.WAREHOUSE_SIZES) {
    // a full batch must fit: after an outage the backlog fills every batch to the batch size
    const candidates = input.batchSize > 0 ? [input.batchSize] : C.BATCH_SIZE_CANDIDATES;
    const batchSize = candidates.find((b) => batchCost(mode, b, fileGbU, size).lambdaS <= budget);
    const notes: string[] = [];
    const chosen = batchSize ?? candidates[candidates.length - 1]!;
    if (batchSize === undefined) {
      notes.push(
        input.batchSize > 0
          ? `a full batch of ${input.batchSize} takes longer than ${budget} s on ${size}`
          : `one file takes longer than ${budget} s to land on ${size}`,
      );
    }
    const window = batchingWindowS(chosen, fps, input.maxWindowS);
    const perInvocation = Math.min(chosen, Math.max(1, fps * window));
    const invocations = input.filesPerDay / perInvocation;
    const cost = batchCost(mode, perInvocation, fileGbU, size);
    const needed = (invocations / DAY_S) * cost.lambdaS;
    const maxConcurrency = Math.min(
      C.ESM_MAX_CONCURRENCY,
      Math.max(C.ESM_MIN_MAX_CONCURRENCY, Math.ceil(2 * needed)),
    );
    const utilisation = (invocations * cost.capacityS) / DAY_S;
    const billedS = warehouseBilledSeconds(invocations, cost.warehouseS);
    const warehouseCredits = (billedS / 3_600) * C.WAREHOUSE_CREDITS_PER_HOUR[size];
    let snowpipeCredits = 0;
    if (mode === 'pipe') snowpipeCredits = gbUPerDay * C.SNOWPIPE_CREDITS_PER_GB;
    if (mode === 'pipe-legacy') {
      const fileWork =
        (input.filesPerDay * copyThreadSecondsPerFile(fileGbU)) / (3_600 * C.XSMALL_LOAD_THREADS);
      snowpipeCredits =
        (input.filesPerDay / 1_000) * C.SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES +
        fileWork * C.SNOWPIPE_LEGACY_COMPUTE_MULTIPLIER;
    }
    const snowflakeCredits = warehouseCredits + snowpipeCredits;
    const lambdaUsd =
      invocations * C.LAMBDA_USD_PER_REQUEST +
      lambdaGbSeconds(C.INGEST_MEMORY_MB, invocations * cost.lambdaS) * C.LAMBDA_USD_PER_GB_SECOND;
    const snowflakeUsd = snowflakeCredits * input.creditUsd;
    const feasible =
      batchSize !== undefined &&
      utilisation <= C.WAREHOUSE_TARGET_UTILISATION &&
      needed <= C.ESM_MAX_CONCURRENCY;
    if (utilisation > C.WAREHOUSE_TARGET_UTILISATION)
      notes.push(`${size} would be busy ${Math.round(utilisation * 100)}% of the day`);
    if (needed > C.ESM_MAX_CONCURRENCY)
      notes.push(`needs ${Math.ceil(needed)} concurrent invocations, above the mapping's 1,000`);
    const plan: ModePlan = {
      mode,
      feasible,
      batchSize: chosen,
      batchingWindowS: window,
      filesPerInvocation: perInvocation,
      invocationsPerDay: invocations,
      lambdaDurationS: cost.lambdaS,
      lambdaConcurrencyNeeded: needed,
      lambdaMaxConcurrency: maxConcurrency,
      copyStatementsPerMinute: (invocations * cost.copies) / 1_440,
      statementsPerMinute: (invocations * cost.statements) / 1_440,
      worstLagS: window + cost.lambdaS,
      warehouse: {
        size,
        busyPerBatchS: cost.warehouseS,
        utilisation,
        billedHoursPerDay: billedS / 3_600,
        credits: warehouseCredits,
      },
      snowpipeCredits,
      snowflakeCredits,
      usd: {
        lambda: lambdaUsd,
        sqs: sqsUsd,
        s3: s3Usd,
        snowflake: snowflakeUsd,
        total: lambdaUsd + sqsUsd + s3Usd + snowflakeUsd,
      },
      notes,
    };
    last = plan;
    if (feasible && (!best || plan.snowflakeCredits < best.snowflakeCredits - 1e-9)) best = plan;
  }
  // nothing fits one cluster: report the largest size, marked infeasible
  return (
    best ?? {
      ...last!,
      feasible: false,
      notes: [
        ...last!.notes,
        'no single warehouse cluster keeps up: split the load (datasets, multi-cluster warehouse) or grow the files',
      ],
    }
  );
}

/** SQS requests a day: S3's SendMessage per file, receives and batch deletes of 10, idle long polls. */
export function sqsRequestsPerDay(filesPerDay: number): number {
  const sends = filesPerDay * Math.ceil(C.SQS_RECORD_BYTES / C.SQS_BILLING_CHUNK_BYTES);
  const receives = Math.max(
    filesPerDay / C.SQS_MESSAGES_PER_CALL,
    C.ESM_INITIAL_POLLERS * (DAY_S / C.SQS_LONG_POLL_S),
  );
  const deletes = filesPerDay / C.SQS_MESSAGES_PER_CALL;
  return sends + receives + deletes;
}

export function planIngest(raw: IngestInput): IngestPlan {
  const input = checkInput(raw);
  const fps = input.filesPerDay / DAY_S;
  const gbPerDay = (input.filesPerDay * input.mbPerFile) / 1_000;
  const gbU = gbPerDay * input.compressionRatio;
  const sqs = sqsRequestsPerDay(input.filesPerDay);
  // the producer's PUT (multipart above 5 GB: roughly one PUT per 100 MB part), Snowflake's GET and the loader's HEAD
  const putsPerFile =
    input.mbPerFile * 1e6 > C.S3_MAX_SINGLE_PUT_BYTES ? Math.ceil(input.mbPerFile / 100) + 2 : 1;
  const s3 = { putRequests: input.filesPerDay * putsPerFile, getRequests: input.filesPerDay * 2 };
  const sqsUsd = sqs * C.SQS_USD_PER_REQUEST;
  const s3Usd = s3.putRequests * C.S3_USD_PER_PUT + s3.getRequests * C.S3_USD_PER_GET;
  const modes = {
    copy: planMode('copy', input, fps, gbU, sqsUsd, s3Usd),
    pipe: planMode('pipe', input, fps, gbU, sqsUsd, s3Usd),
    'pipe-legacy': planMode('pipe-legacy', input, fps, gbU, sqsUsd, s3Usd),
  };
  const current: IngestMode[] = ['copy', 'pipe'];
  const cheapest = current.reduce((a, b) => (rank(modes[b]) < rank(modes[a]) ? b : a));
  return {
    input,
    filesPerSecond: fps,
    gbPerDay,
    gbUncompressedPerDay: gbU,
    sqsRequestsPerDay: sqs,
    s3,
    modes,
    cheapest,
    warnings: warnings(input, fps, modes),
  };
}

/** Feasible plans first, then by dollars a day. */
function rank(p: ModePlan): number {
  return (p.feasible ? 0 : 1e15) + p.usd.total;
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
  if (copy.lambdaMaxConcurrency > C.WAREHOUSE_MAX_CONCURRENCY_LEVEL) {
    w.push(
      `${copy.lambdaMaxConcurrency} concurrent invocations exceed the warehouse's MAX_CONCURRENCY_LEVEL (${C.WAREHOUSE_MAX_CONCURRENCY_LEVEL}): statements queue; use a multi-cluster warehouse or larger batches`,
    );
  }
  if (!copy.feasible) w.push(...copy.notes.map((n) => `copy mode: ${n}`));
  const pipe = modes.pipe;
  if (pipe.statementsPerMinute > 600) {
    w.push(
      `pipe mode issues one ALTER PIPE ... REFRESH per file: ${fmt(pipe.statementsPerMinute)} statements a minute`,
    );
  }
  return w;
}

function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return String(Math.round(n * 100) / 100);
}

// ------------------------------------------------------------------------------------------------
// Transfer
// ------------------------------------------------------------------------------------------------

export type TransferStrategy = 'stream' | 'stream-per-month' | 'unload';

export interface TransferInput {
  /** Uncompressed size of the source table, GB. */
  tableGb: number;
  /** Average uncompressed bytes per source row. Default 50. */
  rowBytes?: number;
  /** Aggregated rows / source rows (1 = no reduction, the worst case). Default 1. */
  reduction?: number;
  /** Months the table spans (the fan-out width). Default 24. */
  months?: number;
  memoryMb?: number;
  creditUsd?: number;
}

export interface TransferOption {
  strategy: TransferStrategy;
  fits: boolean;
  invocations: number;
  /** Wall time of the longest invocation, s. */
  longestInvocationS: number;
  lambdaGbSeconds: number;
  warehouseCredits: number;
  usd: number;
}

export interface TransferPlan {
  input: Required<TransferInput>;
  sourceRows: number;
  outputRows: number;
  outputGbGz: number;
  warehouseSize: WarehouseSize;
  aggregateS: number;
  streamRowsPerS: number;
  /** Memory the streaming path needs: parts in flight + a result chunk; independent of table size. */
  streamingMemoryMb: number;
  /** What buffering the whole aggregated result would need (why it must stream). */
  bufferedResultMb: number;
  options: Record<TransferStrategy, TransferOption>;
  recommended: TransferStrategy;
}

/** Smallest size whose aggregation of `gb` finishes within `targetS` (the largest if none). */
export function transferWarehouseSize(gb: number, targetS = 120): WarehouseSize {
  return C.WAREHOUSE_SIZES.find((s) => aggregateS(gb, s) <= targetS) ?? '4X-Large';
}

export function aggregateS(gb: number, size: WarehouseSize): number {
  return (gb * C.AGGREGATE_CREDITS_PER_GB * 3_600) / C.WAREHOUSE_CREDITS_PER_HOUR[size];
}

function billedCredits(seconds: number, size: WarehouseSize): number {
  return (Math.max(C.WAREHOUSE_MIN_BILLED_S, seconds) / 3_600) * C.WAREHOUSE_CREDITS_PER_HOUR[size];
}

export function planTransfer(raw: TransferInput): TransferPlan {
  const input: Required<TransferInput> = {
    rowBytes: 50,
    reduction: 1,
    months: 24,
    memoryMb: C.TRANSFER_MEMORY_MB,
    creditUsd: C.CREDIT_USD_DEFAULT,
    ...raw,
  };
  for (const [k, v] of Object.entries(input)) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${k} must be a positive number, got ${v}`);
  }
  if (input.reduction > 1)
    throw new RangeError(`reduction is aggregated rows / source rows, at most 1, got ${input.reduction}`);
  if (input.memoryMb > C.LAMBDA_MAX_MEMORY_MB)
    throw new RangeError(`a Lambda has at most ${C.LAMBDA_MAX_MEMORY_MB} MB`);
  const budget = C.LAMBDA_MAX_TIMEOUT_S * C.TRANSFER_DURATION_BUDGET_FRACTION;
  const sourceRows = (input.tableGb * 1e9) / input.rowBytes;
  const outputRows = sourceRows * input.reduction;
  const outputGbGz = (outputRows * C.OUTPUT_BYTES_PER_ROW_GZ) / 1e9;
  const size = transferWarehouseSize(input.tableGb);
  const agg = aggregateS(input.tableGb, size);
  const rate = C.STREAM_ROWS_PER_S_PER_VCPU * Math.min(1, vcpus(input.memoryMb));
  const streamS = outputRows / rate;
  const gbs = (s: number) => lambdaGbSeconds(input.memoryMb, s);
  const usd = (lambdaS: number, invocations: number, credits: number) =>
    gbs(lambdaS) * C.LAMBDA_USD_PER_GB_SECOND +
    invocations * C.LAMBDA_USD_PER_REQUEST +
    credits * input.creditUsd;

  const single = agg + streamS;
  // per month: each invocation aggregates its month (partition pruning on a date-ordered table
  // makes that 1/months of the scan; without it every month scans the whole table)
  const perMonthAgg = aggregateS(input.tableGb / input.months, size);
  const perMonth = perMonthAgg + streamS / input.months;
  const unloadS = agg + aggregateS(outputGbGz * 4, size); // writing: the output's uncompressed bytes again
  const options: Record<TransferStrategy, TransferOption> = {
    stream: {
      strategy: 'stream',
      fits: single <= budget,
      invocations: 1,
      longestInvocationS: single,
      lambdaGbSeconds: gbs(single),
      warehouseCredits: billedCredits(agg, size),
      usd: usd(single, 1, billedCredits(agg, size)),
    },
    'stream-per-month': {
      strategy: 'stream-per-month',
      fits: perMonth <= budget,
      invocations: input.months,
      longestInvocationS: perMonth,
      lambdaGbSeconds: gbs(perMonth * input.months),
      // the months run back to back on one resumed warehouse: one 60 s minimum, not one per month
      warehouseCredits: billedCredits(input.months * perMonthAgg, size),
      usd: usd(perMonth * input.months, input.months, billedCredits(input.months * perMonthAgg, size)),
    },
    unload: {
      strategy: 'unload',
      // the function waits for the COPY INTO @stage statement: within its 15 minutes, or submitted asynchronously
      fits: unloadS <= budget,
      invocations: 1,
      longestInvocationS: unloadS,
      lambdaGbSeconds: gbs(unloadS),
      warehouseCredits: billedCredits(unloadS, size),
      usd: usd(unloadS, 1, billedCredits(unloadS, size)),
    },
  };
  const recommended: TransferStrategy = options.stream.fits
    ? 'stream'
    : options['stream-per-month'].fits
      ? 'stream-per-month'
      : 'unload';
  return {
    input,
    sourceRows,
    outputRows,
    outputGbGz,
    warehouseSize: size,
    aggregateS: agg,
    streamRowsPerS: rate,
    streamingMemoryMb: (C.PART_BYTES * 3) / 2 ** 20 + 64,
    bufferedResultMb: (outputRows * 100) / 2 ** 20,
    options,
    recommended,
  };
}
