/**
 * The transfer of a table (warehouse table -> monthly parts in S3): streamed through one Lambda,
 * fanned out per month, or unloaded by Snowflake. Reasoning in docs/SCALE.md §3.
 */
import * as C from './constants';
import type { WarehouseSize } from './constants';
import { lambdaGbSeconds, vcpus } from './units';

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
