/**
 * The capacity and cost model (local/plan/model.ts) against values worked out by hand in each test
 * from the documented constants (local/plan/constants.ts), not from the model's own output.
 */
import * as C from '../../local/plan/constants';
import {
  batchingWindowS,
  copyThreadSecondsPerFile,
  copyWallS,
  parseWallS,
  planIngest,
  planTransfer,
  sqsRequestsPerDay,
  warehouseBilledSeconds,
} from '../../local/plan/model';

describe('documented constants', () => {
  it('hold the values of the pages they cite', () => {
    // Lambda quotas, SQS event source mapping, Snowflake warehouse credits and Snowpipe pricing
    expect(C.LAMBDA_MAX_TIMEOUT_S).toBe(15 * 60);
    expect(C.LAMBDA_MAX_MEMORY_MB).toBe(10_240);
    expect(C.ESM_MAX_BATCH_SIZE).toBe(10_000);
    expect(C.ESM_MAX_BATCHING_WINDOW_S).toBe(300);
    expect(Object.values(C.WAREHOUSE_CREDITS_PER_HOUR)).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    expect(C.SNOWPIPE_CREDITS_PER_GB).toBe(0.0037);
    expect(C.SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES).toBe(0.06);
    expect(C.SQS_USD_PER_REQUEST * 1e6).toBeCloseTo(0.4, 12);
    expect(C.S3_USD_PER_PUT * 1e3).toBeCloseTo(0.005, 12);
    expect(C.S3_USD_PER_GET * 1e3).toBeCloseTo(0.0004, 12);
    expect(C.LAMBDA_USD_PER_GB_SECOND).toBe(0.0000166667);
  });
});

describe('building blocks', () => {
  it('COPY time of one file: fixed part plus its data at one thread of an X-Small', () => {
    // 8.2 credits / 4,700 GB = 0.0017446809 credits/GB; an X-Small thread-second is 1/(3600*8) credits,
    // so 1 GB takes 0.0017446809 * 28,800 = 50.246809 s, plus 0.05 s
    expect(copyThreadSecondsPerFile(1)).toBeCloseTo(50.296809, 5);
    expect(copyThreadSecondsPerFile(0)).toBeCloseTo(0.05, 12);
  });

  it('COPY wall time: waves of one file per thread', () => {
    // 20 files of 1 MB on an X-Small (8 threads): 3 waves x (0.05 + 0.001 * 50.246809) = 3 x 0.100246809
    expect(copyWallS(20, 0.001, 'X-Small')).toBeCloseTo(0.30074043, 6);
    // a Medium has 32 threads: one wave
    expect(copyWallS(20, 0.001, 'Medium')).toBeCloseTo(0.100246809, 6);
  });

  it('parse time: the JSON credits per GB spread over the whole warehouse', () => {
    // 10 GB x (17.5 / 4,700) credits/GB = 0.0372340426 credits; a Medium burns 4/3600 credits/s -> 33.5106 s
    expect(parseWallS(10, 'Medium')).toBeCloseTo(33.510638, 5);
  });

  it('warehouse billing: 60 s minimum per resume plus AUTO_SUSPEND, at most a whole day', () => {
    // 288 batches of 0.5 s: each bills 0.5 + 60 = 60.5 s -> 17,424 s
    expect(warehouseBilledSeconds(288, 0.5)).toBeCloseTo(17_424, 9);
    // batches of no work still bill the 60 s minimum
    expect(warehouseBilledSeconds(100, 0)).toBe(6_000);
    // 10,000 batches of 10 s would be 700,000 s: the warehouse simply never suspends
    expect(warehouseBilledSeconds(10_000, 10)).toBe(86_400);
    expect(warehouseBilledSeconds(0, 10)).toBe(0);
  });

  it('batching window: the time to fill the batch, within 1..300 s', () => {
    expect(batchingWindowS(1_000, 1_000 / 86_400, 300)).toBe(300); // 1,000 files a day never fill it
    expect(batchingWindowS(1_000, 1e7 / 86_400, 300)).toBe(9); // ceil(1000 / 115.74) = ceil(8.64)
    expect(batchingWindowS(1_000, 1e7 / 86_400, 5)).toBe(5); // the caller's freshness limit
    expect(batchingWindowS(100, 1_000, 300)).toBe(1); // above 10 records the window is at least 1 s
    expect(batchingWindowS(10, 1_000, 300)).toBe(1); // ceil(10/1000) = 1
    expect(batchingWindowS(5, 0, 300)).toBe(300);
  });

  it('SQS requests: one send per file, receives and deletes by ten, idle long polls of five pollers', () => {
    // 1e7: 1e7 sends + max(1e6, 5 x 86400/20 = 21,600) receives + 1e6 deletes
    expect(sqsRequestsPerDay(1e7)).toBe(12_000_000);
    // 1e3: 1,000 + 21,600 + 100
    expect(sqsRequestsPerDay(1_000)).toBe(22_700);
  });
});

describe('planIngest', () => {
  it('1,000 files of 1 MB a day: worked through by hand', () => {
    // Prepare: 1,000 files/day -> 1000/86400 files/s; 300 s windows collect 3.4722 files -> 288 invocations.
    // One invocation (3.4722 files of 0.001 GB): HEAD 1 round x 0.03; 14 statements x 0.3 = 4.2;
    // COPY 1 wave x 0.100246809; parse 0.0034722 GB x 0.0037234043 x 3600 = 0.04654255; +0.05 overhead
    //   -> 4.42678936 s. Warehouse busy: 14 x 0.1 + 0.100246809 + 0.04654255 = 1.54678936 s,
    //   billed 288 x 61.54678936 = 17,725.4753 s = 4.92374 h of X-Small = 4.92374 credits.
    // Act
    const plan = planIngest({ filesPerDay: 1_000, mbPerFile: 1 });
    const copy = plan.modes.copy;
    // Assess
    expect(copy.feasible).toBe(true);
    expect(copy.warehouse.size).toBe('X-Small');
    expect(copy.batchSize).toBe(1_000);
    expect(copy.batchingWindowS).toBe(300);
    expect(copy.filesPerInvocation).toBeCloseTo(3.4722222, 6);
    expect(copy.invocationsPerDay).toBeCloseTo(288, 9);
    expect(copy.lambdaDurationS).toBeCloseTo(4.42678936, 6);
    expect(copy.warehouse.busyPerBatchS).toBeCloseTo(1.54678936, 6);
    expect(copy.warehouse.billedHoursPerDay).toBeCloseTo(17_725.4753 / 3600, 5);
    expect(copy.snowflakeCredits).toBeCloseTo(4.923743, 5);
    expect(copy.copyStatementsPerMinute).toBeCloseTo(288 / 1440, 9);
    expect(copy.lambdaMaxConcurrency).toBe(2); // the mapping's minimum
    // dollars: Snowflake 4.923743 x $3; Lambda 288 x $0.2/1e6 + 288 x 4.42678936 GB-s x $0.0000166667;
    // SQS 22,700 x $0.4/1e6; S3 1,000 PUT x $0.005/1e3 + 2,000 GET/HEAD x $0.0004/1e3
    expect(copy.usd.snowflake).toBeCloseTo(14.771229, 4);
    expect(copy.usd.lambda).toBeCloseTo(0.0000576 + 288 * 4.42678936 * 0.0000166667, 8);
    expect(copy.usd.sqs).toBeCloseTo(0.00908, 10);
    expect(copy.usd.s3).toBeCloseTo(0.0058, 10);
    expect(plan.gbPerDay).toBe(1);
  });

  it('pipe mode bills 0.0037 credits per uncompressed GB; the legacy model 0.06 per 1,000 files', () => {
    // Prepare: 100,000 files/day of 1 MB gzipped 5:1 -> 100 GB stored, 500 GB uncompressed
    const plan = planIngest({ filesPerDay: 100_000, mbPerFile: 1, compressionRatio: 5 });
    // Assess
    expect(plan.gbUncompressedPerDay).toBe(500);
    expect(plan.modes.pipe.snowpipeCredits).toBeCloseTo(500 * 0.0037, 9);
    // legacy: 100 x 0.06 = 6 credits of file charge, plus compute at 1.25x:
    // each file 0.05 + 0.005 GB x 50.246809 = 0.301234 thread-s; 100,000 files / 28,800 thread-s per credit
    const legacyCompute = (100_000 * (0.05 + 0.005 * 50.246809)) / 28_800;
    expect(plan.modes['pipe-legacy'].snowpipeCredits).toBeCloseTo(6 + 1.25 * legacyCompute, 4);
    expect(plan.modes.copy.snowpipeCredits).toBe(0);
  });

  it('at 10 million tiny files a day the legacy per-file charge makes COPY mode far cheaper', () => {
    const plan = planIngest({ filesPerDay: 1e7, mbPerFile: 0.01 });
    // 1e7 / 1000 x 0.06 = 600 credits a day of file charges alone
    expect(plan.modes['pipe-legacy'].snowpipeCredits).toBeGreaterThan(600);
    expect(plan.modes.copy.snowflakeCredits).toBeLessThan(plan.modes['pipe-legacy'].snowflakeCredits / 5);
    expect(plan.modes.copy.batchSize).toBe(1_000);
    expect(plan.modes.copy.batchingWindowS).toBe(9);
    expect(plan.modes.copy.invocationsPerDay).toBeCloseTo(10_000, 6);
    expect(plan.warnings.some((w) => w.includes('far below'))).toBe(true);
  });

  it('a heavier day never gets a smaller warehouse', () => {
    const order = C.WAREHOUSE_SIZES;
    const sizes = [1, 10, 100, 1_000, 10_000].map((gb) =>
      order.indexOf(
        planIngest({ filesPerDay: 100_000, mbPerFile: (gb * 1000) / 100_000 }).modes.copy.warehouse.size,
      ),
    );
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThanOrEqual(sizes[i - 1]!);
  });

  it('a file too large to land within the Lambda budget is reported, not planned', () => {
    // 10 GB on one thread: 0.05 + 10 x 50.246809 = 502.5 s > 150 s on every size (threads do not split a file)
    const plan = planIngest({ filesPerDay: 1_000, mbPerFile: 10_000 });
    expect(plan.modes.copy.feasible).toBe(false);
    expect(plan.warnings.some((w) => w.startsWith('copy mode: one file takes longer than 150 s'))).toBe(true);
    expect(plan.warnings.some((w) => w.includes('multipart'))).toBe(true);
  });

  it('evaluates a given batch size and window: the deployed 10 files / 5 s at 1,000 files a day', () => {
    // 5 s windows catch 0.058 files: every file is its own invocation -> 1,000 invocations, each
    // resuming the warehouse: busy 14 x 0.1 + (0.05 + 0.001 x 50.246809) + 0.001 x 0.0037234043 x 3600
    // = 1.51365106 s, billed 1,000 x 61.51365106 s = 17.08713 h of X-Small
    const plan = planIngest({ filesPerDay: 1_000, mbPerFile: 1, batchSize: 10, maxWindowS: 5 });
    expect(plan.modes.copy.batchSize).toBe(10);
    expect(plan.modes.copy.batchingWindowS).toBe(5);
    expect(plan.modes.copy.invocationsPerDay).toBe(1_000);
    expect(plan.modes.copy.snowflakeCredits).toBeCloseTo(61_513.65106 / 3_600, 5);
  });

  it('rejects impossible input with the name of the field', () => {
    expect(() => planIngest({ filesPerDay: -1, mbPerFile: 1 })).toThrow(/files per day/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 0 })).toThrow(/MB per file/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 1, maxWindowS: 301 })).toThrow(/max window/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 1, batchSize: 2.5 })).toThrow(/batch size/);
  });
});

describe('planTransfer', () => {
  it('1 GB of 50-byte rows streams through one 1 GB Lambda', () => {
    // 20,000,000 rows; 60,000 rows/s per vCPU x 1024/1769 vCPU = 34,731.5 rows/s -> 575.85 s;
    // aggregation: 1 GB / (0.2 GB/s on an X-Small) = 5 s -> 580.85 s < 0.8 x 900 = 720
    const t = planTransfer({ tableGb: 1 });
    expect(t.sourceRows).toBe(20_000_000);
    expect(t.warehouseSize).toBe('X-Small');
    expect(t.aggregateS).toBeCloseTo(5, 9);
    expect(t.streamRowsPerS).toBeCloseTo((60_000 * 1024) / 1769, 6);
    expect(t.options.stream.longestInvocationS).toBeCloseTo(5 + 20_000_000 / ((60_000 * 1024) / 1769), 6);
    expect(t.recommended).toBe('stream');
  });

  it('27M rows with no reduction outgrow 80% of 15 minutes at 1 GB; a full vCPU (1,769 MB) fits', () => {
    // 1.35 GB of 50-byte rows: 27e6 / 34,731.5 = 777.4 s + 6.75 s aggregation > 720;
    // at 1,769 MB: 27e6 / 60,000 = 450 s + 6.75 s
    expect(planTransfer({ tableGb: 1.35 }).options.stream.fits).toBe(false);
    expect(planTransfer({ tableGb: 1.35 }).recommended).toBe('stream-per-month');
    const full = planTransfer({ tableGb: 1.35, memoryMb: 1769 });
    expect(full.options.stream.longestInvocationS).toBeCloseTo(450 + 6.75, 6);
    expect(full.recommended).toBe('stream');
  });

  it('1 TB reduced 100x: too long for one Lambda, fits one per month', () => {
    // aggregation of 1,000 GB within 120 s needs >= 41.7 credits/h: 3X-Large (64), 1000 x 5 / 64 = 78.125 s
    // one Lambda: 78.125 + 2e8 / 34,731.5 = 5,836.6 s (> 720); per month: (78.125 + 5,758.4) / 24 = 243.2 s
    const t = planTransfer({ tableGb: 1_000, reduction: 0.01 });
    expect(t.warehouseSize).toBe('3X-Large');
    expect(t.aggregateS).toBeCloseTo(78.125, 9);
    expect(t.options.stream.fits).toBe(false);
    expect(t.options['stream-per-month'].longestInvocationS).toBeCloseTo(
      (78.125 + 2e8 / ((60_000 * 1024) / 1769)) / 24,
      6,
    );
    expect(t.recommended).toBe('stream-per-month');
  });

  it('100 GB with no reduction: only Snowflake unloading it fits', () => {
    const t = planTransfer({ tableGb: 100 });
    expect(t.options['stream-per-month'].fits).toBe(false);
    expect(t.recommended).toBe('unload');
    // buffering the result instead of streaming it would need 2e9 rows x ~100 bytes
    expect(t.bufferedResultMb).toBeGreaterThan(C.LAMBDA_MAX_MEMORY_MB);
    expect(t.streamingMemoryMb).toBeLessThan(C.TRANSFER_MEMORY_MB);
  });

  it('rejects a reduction above 1 and a memory above the Lambda maximum', () => {
    expect(() => planTransfer({ tableGb: 1, reduction: 2 })).toThrow(/reduction/);
    expect(() => planTransfer({ tableGb: 1, memoryMb: 20_000 })).toThrow(/10240/);
  });
});
