/**
 * The capacity and cost model (local/plan/model.ts) against values worked out by hand in each test
 * from the documented constants (local/plan/constants.ts), not from the model's own output. Each test
 * writes its arithmetic out; the constants it uses are restated as literals so that a changed constant
 * fails the test that depends on it.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import * as C from '../../local/plan/constants';
import { pendingDelaySeconds } from '../../shared/ingest/batch';
import {
  batchCost,
  batchingWindowS,
  cloudServicesBilled,
  copyThreadSecondsPerFile,
  copyWallS,
  deployedInput,
  lockWaitS,
  parseWallS,
  payloadRecordCap,
  planIngest,
  planRebuild,
  planTransfer,
  rampMinutes,
  sqsRequestsPerDay,
  warehouseBilledSeconds,
  type LimitTerm,
  type ModePlan,
} from '../../local/plan/model';
import { gridRows } from '../../local/plan/render';

const root = path.join(__dirname, '..', '..');
const term = (p: ModePlan, name: LimitTerm['name']) => p.terms.find((t) => t.name === name)!;

describe('documented constants', () => {
  it('hold the values of the pages they cite', () => {
    // Lambda quotas, SQS event source mapping, Snowflake warehouse credits and Snowpipe pricing
    expect(C.LAMBDA_MAX_TIMEOUT_S).toBe(15 * 60);
    expect(C.LAMBDA_MAX_MEMORY_MB).toBe(10_240);
    expect(C.LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY).toBe(1_000);
    expect(C.LAMBDA_SYNC_PAYLOAD_BYTES).toBe(6 * 1024 * 1024);
    expect(C.ESM_MAX_BATCH_SIZE).toBe(10_000);
    expect(C.ESM_MAX_BATCHING_WINDOW_S).toBe(300);
    // services-sqs-scaling: 5 to start, up to 300 more concurrent invokes a minute, 1,250 at most;
    // ScalingConfig.MaximumConcurrency 2..1,000
    expect([C.ESM_INITIAL_CONCURRENCY, C.ESM_SCALE_UP_PER_MINUTE, C.ESM_MAX_CONCURRENT_INVOKES]).toEqual([
      5, 300, 1_250,
    ]);
    expect([C.ESM_MIN_MAX_CONCURRENCY, C.ESM_MAX_MAX_CONCURRENCY]).toEqual([2, 1_000]);
    expect(Object.values(C.WAREHOUSE_CREDITS_PER_HOUR)).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    expect(C.WAREHOUSE_MAX_CONCURRENCY_LEVEL).toBe(8);
    expect(C.SNOWPIPE_CREDITS_PER_GB).toBe(0.0037);
    expect(C.SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES).toBe(0.06);
    expect(C.CLOUD_SERVICES_FREE_FRACTION).toBe(0.1);
    expect(C.LOCK_WAITER_LIMIT).toBe(20);
    expect(C.SQS_USD_PER_REQUEST * 1e6).toBeCloseTo(0.4, 12);
    expect(C.S3_USD_PER_PUT * 1e3).toBeCloseTo(0.005, 12);
    expect(C.S3_USD_PER_GET * 1e3).toBeCloseTo(0.0004, 12);
  });

  it('price Lambda at the arm64 rate, the architecture serverless.yml deploys', () => {
    // x86 $0.0000166667, Arm $0.0000133334 per GB-s (first tiers): Arm is 20% cheaper
    expect(C.LAMBDA_USD_PER_GB_SECOND_X86).toBe(0.0000166667);
    expect(C.LAMBDA_USD_PER_GB_SECOND_ARM64).toBe(0.0000133334);
    expect(C.LAMBDA_USD_PER_GB_SECOND).toBe(0.0000133334);
  });

  it('the pending delays are the ingest function\'s, and four of them fit before the DLQ', () => {
    expect(C.PENDING_DELAYS_S.map((_, i) => pendingDelaySeconds(i + 1))).toEqual([...C.PENDING_DELAYS_S]);
    // receives 1..5 are allowed (maxReceiveCount 5): the hand-off and four redeliveries, 15 minutes
    const beforeDlq = C.PENDING_DELAYS_S.slice(0, C.DEPLOYED.maxReceiveCount - 1).reduce((a, b) => a + b, 0);
    expect(beforeDlq).toBe(60 + 120 + 240 + 480);
    expect(C.HOT_PATHS.append.pipeRedeliveryS).toBe(pendingDelaySeconds(1));
  });

  it('the PROJECT values are what serverless.yml and 00_account.sql deploy', () => {
    // Prepare: read the deployment as written (CloudFormation tags like !GetAtt parse as strings)
    const sls = YAML.parse(fs.readFileSync(path.join(root, 'serverless.yml'), 'utf8'), {
      logLevel: 'silent',
    });
    const params = sls.params.default;
    const account = fs.readFileSync(path.join(root, 'sql', 'snowflake', '00_account.sql'), 'utf8');
    // Assess
    expect(sls.provider.architecture).toBe(C.LAMBDA_ARCHITECTURE);
    expect(sls.provider.memorySize).toBe(C.DEPLOYED.memoryMb);
    expect(params.ingestBatchSize).toBe(C.DEPLOYED.batchSize);
    expect(params.ingestBatchingWindow).toBe(C.DEPLOYED.batchingWindowS);
    expect(params.ingestMaxConcurrency).toBe(C.DEPLOYED.maximumConcurrency);
    expect(params.ingestTimeout).toBe(C.DEPLOYED.timeoutS);
    expect(params.ingestVisibilityTimeout).toBe(C.DEPLOYED.visibilityTimeoutS);
    expect(params.ingestMaxReceiveCount).toBe(C.DEPLOYED.maxReceiveCount);
    expect(sls.functions.ingest.timeout).toBe('${param:ingestTimeout}');
    expect(sls.functions.ingest.events[0].sqs.maximumConcurrency).toBe('${param:ingestMaxConcurrency}');
    expect(sls.functions.rebuild.timeout).toBe(C.DEPLOYED.rebuildTimeoutS);
    expect(account).toMatch(/warehouse_size = xsmall/);
    expect(C.DEPLOYED_WAREHOUSE_SIZE).toBe('X-Small');
    expect(account).toMatch(new RegExp(`auto_suspend = ${C.WAREHOUSE_AUTO_SUSPEND_S}\\b`));
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
    // pipe mode delivers each file twice: 1e7 sends + 2e6 receives + 1e6 deletes
    expect(sqsRequestsPerDay(1e7, 2)).toBe(13_000_000);
  });

  it('statement slots grow with the warehouse: MAX_CONCURRENCY_LEVEL x its credits per hour for small statements', () => {
    // the level (8) is per cluster, and a small statement counts 1/(credits per hour) of it (ASSUMPTION)
    expect(C.smallStatementsPerCluster('X-Small')).toBe(8);
    expect(C.smallStatementsPerCluster('Large')).toBe(8 * 8);
    expect(C.smallStatementsPerCluster('4X-Large')).toBe(8 * 128);
  });

  it('a batch on a Large: the small statements count 1/8 of a slot, 1/64 of its compute', () => {
    // append COPY, 100 files of 10 MB (0.01 GB) on a Large (8 credits/h, 64 threads, 64 small slots):
    // statements 8; COPY 2 waves x (0.05 + 0.01 x 50.246809 = 0.55246809) = 1.10493618 s;
    // parse 1 GB x 0.0037234043 x 3600 / 8 = 1.67553191 s
    const c = batchCost('copy', 'append', 100, 0.01, 'Large');
    expect(c.statements).toBe(8);
    // warehouse wall 8 x 0.1 + 1.10493618 + 1.67553191
    expect(c.warehouseS).toBeCloseTo(0.8 + 1.10493618 + 1.67553191, 6);
    // compute: 0.8 / 64 + 100 x 0.55246809 / 64 + 1.67553191
    expect(c.computeS).toBeCloseTo(0.8 / 64 + 55.246809 / 64 + 1.67553191, 6);
    // slots (in whole statements): 0.8 / 8 + the COPY's and the INSERT's wall time
    expect(c.slotS).toBeCloseTo(0.8 / 8 + 1.10493618 + 1.67553191, 6);
    // Lambda: 0.05 + ceil(100/8) = 13 HEADs of 0.03 + 8 x 0.3 + COPY + parse
    expect(c.lambdaS).toBeCloseTo(0.05 + 0.39 + 2.4 + 1.10493618 + 1.67553191, 6);
    expect(c.lockHoldS).toBe(0);
  });

  it('the old lock is held for 10 round trips plus the parse; the new path holds nothing', () => {
    // lock COPY, 1,000 files of 1.024 MB on a Large: parse 1.024 GB x 0.0037234043 x 3600 / 8 = 1.71574468 s
    expect(batchCost('copy', 'lock', 1_000, 0.001024, 'Large').lockHoldS).toBeCloseTo(3 + 1.71574468, 6);
    expect(batchCost('copy', 'append', 1_000, 0.001024, 'Large').lockHoldS).toBe(0);
    expect(batchCost('pipe', 'append', 1_000, 0.001024, 'Large').lockHoldS).toBe(0);
  });

  it('a pipe-mode invocation is half new files (a REFRESH each) and half files coming back to be written', () => {
    // append pipe, 500 records of 0.01 MB files on an X-Small: Snowpipe's 60 s outlasts the 0 s hand-off,
    // so each file is delivered twice: 250 REFRESH + 6 (hand-off: triage, landed lines, COPY_HISTORY, BEGIN,
    // pending ledger INSERT, COMMIT) + 8 (finishing) = 264 statements;
    // Lambda: 0.05 + ceil(500/8) = 63 HEADs x 0.03 + 264 x 0.3 + parse(250 x 1e-5 GB = 0.0025 GB:
    // 0.0025 x 0.0037234043 x 3600 / 1 = 0.03351064)
    const c = batchCost('pipe', 'append', 500, 0.00001, 'X-Small');
    expect(c.deliveriesPerFile).toBe(2);
    expect(c.refreshes).toBe(250);
    expect(c.statements).toBe(264);
    expect(c.lambdaS).toBeCloseTo(0.05 + 1.89 + 79.2 + 0.03351064, 6);
    // only the 14 non-REFRESH statements run on the warehouse
    expect(c.warehouseS).toBeCloseTo(1.4 + 0.03351064, 6);
  });

  it('the expected wait for the lock: M/D/1, unbounded at or past a full day', () => {
    // rho 0.5, hold 4 s: 0.5 x 4 / (2 x 0.5) = 2 s; rho 0.9, hold 3 s: 2.7 / 0.2 = 13.5 s
    expect(lockWaitS(0.5, 4)).toBeCloseTo(2, 12);
    expect(lockWaitS(0.9, 3)).toBeCloseTo(13.5, 9);
    expect(lockWaitS(1, 3)).toBe(Infinity);
    expect(lockWaitS(0.5, 0)).toBe(0);
  });

  it('scaling ramp, payload cap and the cloud-services allowance', () => {
    // from 5, +300 a minute: 306 needs ceil(301/300) = 2 minutes, the mapping's 1,250 ceil(1245/300) = 5
    expect(rampMinutes(3)).toBe(0);
    expect(rampMinutes(306)).toBe(2);
    expect(rampMinutes(1_250)).toBe(5);
    // 6 MB = 6,291,456 bytes / 2,000-byte records = 3,145 records
    expect(payloadRecordCap()).toBe(3_145);
    // 51.8 credits used, 384 warehouse credits: allowance 38.4, billed 13.4; under the allowance nothing
    expect(cloudServicesBilled(51.8, 384)).toBeCloseTo(13.4, 9);
    expect(cloudServicesBilled(0.01, 4.87)).toBe(0);
  });
});

describe('planIngest, append hot path (the default)', () => {
  it('1,000 files of 1 MB a day: worked through by hand', () => {
    // Prepare: 1,000 files/day -> 1000/86400 files/s; 300 s windows collect 3.4722222 files -> 288 invocations.
    // One invocation (3.4722 files of 0.001 GB) on an X-Small: HEAD 1 round x 0.03; 8 statements x 0.3 = 2.4;
    // COPY 1 wave x 0.100246809; parse 0.0034722 GB x 0.0037234043 x 3600 = 0.04654255; + 0.05 overhead
    //   -> 2.62678936 s. Warehouse busy: 8 x 0.1 + 0.100246809 + 0.04654255 = 0.94678936 s,
    //   billed 288 x 60.94678936 = 17,552.67534 s = 4.87574315 h of X-Small = 4.87574315 credits.
    // Cloud services: 288 x 8 x 5e-6 = 0.01152 credits, inside the allowance of 0.487574.
    // Act
    const plan = planIngest({ filesPerDay: 1_000, mbPerFile: 1 });
    const copy = plan.modes.copy;
    // Assess
    expect(copy.design).toBe('append');
    expect(copy.ingestFeasible).toBe(true);
    expect(copy.warehouse.size).toBe('X-Small');
    expect(copy.batchSize).toBe(1_000);
    expect(copy.batchingWindowS).toBe(300);
    expect(copy.recordsPerInvocation).toBeCloseTo(3.4722222, 6);
    expect(copy.invocationsPerDay).toBeCloseTo(288, 9);
    expect(copy.lambdaDurationS).toBeCloseTo(2.62678936, 6);
    expect(copy.warehouse.busyPerBatchS).toBeCloseTo(0.94678936, 6);
    expect(copy.warehouse.billedHoursPerDay).toBeCloseTo(17_552.67534 / 3600, 5);
    expect(copy.cloudServices.credits).toBeCloseTo(0.01152, 9);
    expect(copy.cloudServices.billed).toBe(0);
    expect(copy.snowflakeCredits).toBeCloseTo(4.87574315, 5);
    expect(copy.copyStatementsPerMinute).toBeCloseTo(288 / 1440, 9);
    expect(copy.lambdaMaxConcurrency).toBe(2); // the mapping's minimum
    // no lock, nothing to wait for
    expect(copy.serialisation.holdS).toBe(0);
    expect(term(copy, 'lock held').ratio).toBe(0);
    // dollars: Snowflake 4.87574315 x $3; Lambda 288 x $0.2/1e6 + 288 x 2.62678936 GB-s x $0.0000133334 (arm64);
    // SQS 22,700 x $0.4/1e6; S3 1,000 PUT x $0.005/1e3 + (1,000 GET + 1,000 HEAD) x $0.0004/1e3
    expect(copy.usd.snowflake).toBeCloseTo(14.6272295, 4);
    expect(copy.usd.lambda).toBeCloseTo(0.0000576 + 288 * 2.62678936 * 0.0000133334, 8);
    expect(copy.usd.sqs).toBeCloseTo(0.00908, 10);
    expect(copy.usd.s3).toBeCloseTo(0.0058, 10);
    expect(plan.gbPerDay).toBe(1);
  });

  it('its terms: every limit as demand / allowance, with the arithmetic', () => {
    const copy = planIngest({ filesPerDay: 1_000, mbPerFile: 1 }).modes.copy;
    // Lambda budget: a full batch of 1,000 files: 0.05 + 125 HEAD rounds x 0.03 = 3.75 + 8 x 0.3 +
    // COPY 125 waves x 0.100246809 = 12.5308511 + parse 1 GB x 0.0037234043 x 3600 = 13.4042553
    // -> 32.1351064 s of 150 s
    expect(term(copy, 'Lambda budget').ratio).toBeCloseTo(32.1351064 / 150, 6);
    // compute: 288/86400 x (0.8/8 + 3.4722222 x 0.100246809 / 8 + 0.04654255) against 70%
    const compute = (288 / 86_400) * (0.1 + (3.4722222 * 0.100246809) / 8 + 0.04654255);
    expect(term(copy, 'warehouse compute').ratio).toBeCloseTo(compute / 0.7, 8);
    // slots: 288/86400 x (0.8/1 + 0.100246809 + 0.04654255) / 8 against 70%
    expect(term(copy, 'statement slots').ratio).toBeCloseTo(((288 / 86_400) * 0.94678936) / 8 / 0.7, 8);
    // concurrency: 288/86400 x 2.62678936 = 0.00875596 against MaximumConcurrency 2, and the account's 1,000
    expect(term(copy, 'mapping concurrency').ratio).toBeCloseTo(0.00875596 / 2, 7);
    expect(term(copy, 'account concurrency').ratio).toBeCloseTo(0.00875596 / 1_000, 9);
    // payload: 1,000 records x 2,000 bytes / 6,291,456
    expect(term(copy, 'invocation payload').ratio).toBeCloseTo(2_000_000 / 6_291_456, 9);
    // rebuild (below): 570.3125 s of 720 s
    expect(term(copy, 'rebuild').ratio).toBeCloseTo(570.3125 / 720, 9);
    expect(copy.feasible).toBe(true);
  });

  it('pipe mode: two deliveries a file, so its lag is the first pending delay plus two windows', () => {
    // 1,000 files of 1 MB: 2,000 records a day (0.0231481/s); the 300 s window collects 6.944444 records,
    // half new (3.4722 REFRESH) and half written. One invocation: 0.05 + 1 HEAD round x 0.03 +
    // (6 + 3.4722222 + 8) x 0.3 = 5.24166667 + parse 0.04654255 -> 5.36820922 s.
    // Worst lag: 300 window + 60 s pending delay (the record comes back, not after the 1,860 s visibility
    // timeout) + 300 window + 5.36820922
    const pipe = planIngest({ filesPerDay: 1_000, mbPerFile: 1 }).modes.pipe;
    expect(pipe.deliveriesPerFile).toBe(2);
    expect(pipe.recordsPerInvocation).toBeCloseTo(6.9444444, 6);
    expect(pipe.invocationsPerDay).toBeCloseTo(288, 9);
    expect(pipe.lambdaDurationS).toBeCloseTo(5.36820922, 6);
    expect(pipe.worstLagS).toBeCloseTo(665.36820922, 5);
    // the REFRESHes are LISTs on our bucket (ASSUMPTION: one each): 1,000 a day
    expect(pipe.s3.listRequests).toBeCloseTo(1_000, 9);
  });

  it('pipe mode: the REFRESHes are cloud services, billed beyond 10% of the warehouse credits', () => {
    // 10^7 files of 1.024 MB: 2e7 records; batches of 500 (1,000 would take 514 x 0.3 = 154 s > 150 s) ->
    // 40,000 invocations of 250 + 6 + 8 = 264 statements: 40,000 x 264 x 5e-6 = 52.8 credits a day
    const pipe = planIngest({ filesPerDay: 1e7, mbPerFile: 1.024 }).modes.pipe;
    expect(pipe.batchSize).toBe(500);
    expect(pipe.invocationsPerDay).toBeCloseTo(40_000, 6);
    expect(pipe.cloudServices.credits).toBeCloseTo(52.8, 6);
    expect(pipe.cloudServices.billed).toBeCloseTo(Math.max(0, 52.8 - 0.1 * pipe.warehouse.credits), 9);
    expect(pipe.snowflakeCredits).toBeCloseTo(
      pipe.warehouse.credits + 10_240 * 0.0037 + pipe.cloudServices.billed,
      9,
    );
  });

  it('the deployed settings at 10 million files a day: 5 concurrent invocations are not enough', () => {
    // 1e7 files of 0.0001 MB with batch 10 / 5 s / MaximumConcurrency 5: 115.74 files/s fill 10 at once ->
    // 1e6 invocations a day (11.574/s). On a Small (16 threads, one COPY wave):
    // 0.05 + 2 HEAD rounds x 0.03 + 8 x 0.3 + (0.05 + 1e-7 x 50.246809) + parse (1e-6 GB x 0.0037234043 x 3600 / 2)
    // = 2.56001174 s; needed 11.574074 x 2.56001174 = 29.6297 against 5
    const copy = planIngest(deployedInput({ filesPerDay: 1e7, mbPerFile: 0.0001 })).modes.copy;
    expect(copy.batchSize).toBe(10);
    expect(copy.lambdaMaxConcurrency).toBe(5);
    expect(copy.warehouse.size).toBe('Small');
    expect(copy.invocationsPerDay).toBeCloseTo(1e6, 6);
    expect(copy.lambdaConcurrencyNeeded).toBeCloseTo((1e6 / 86_400) * 2.56001174, 4);
    expect(copy.ingestBinding.name).toBe('mapping concurrency');
    expect(copy.ingestBinding.ratio).toBeCloseTo(29.6297 / 5, 3);
    expect(copy.ingestFeasible).toBe(false);
    // and on a new account's 10 concurrent executions (observed) it would not fit either
    const fresh = planIngest({
      ...deployedInput({ filesPerDay: 1e7, mbPerFile: 0.0001 }),
      accountConcurrency: 10,
    });
    expect(term(fresh.modes.copy, 'account concurrency').fits).toBe(false);
  });

  it('a batch above the 6 MB payload is cut by the mapping: the payload term binds, the plan still fits', () => {
    // 10,000 records x 2,000 bytes = 20 MB > 6 MB: the mapping hands over 3,145 records (4 COPYs of <= 1,000)
    const copy = planIngest({ filesPerDay: 1e7, mbPerFile: 0.0001, batchSize: 10_000 }).modes.copy;
    expect(copy.batchSize).toBe(3_145);
    expect(term(copy, 'invocation payload').ratio).toBeCloseTo(20_000_000 / 6_291_456, 9);
    expect(term(copy, 'invocation payload').fits).toBe(true);
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
    expect(plan.modes.copy.ingestFeasible).toBe(false);
    expect(plan.modes.copy.ingestBinding.name).toBe('Lambda budget');
    expect(plan.warnings.some((w) => w.startsWith('copy mode: one file takes longer than 150 s'))).toBe(true);
    expect(plan.warnings.some((w) => w.includes('multipart'))).toBe(true);
  });

  it('rejects impossible input with the name of the field', () => {
    expect(() => planIngest({ filesPerDay: -1, mbPerFile: 1 })).toThrow(/files per day/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 0 })).toThrow(/MB per file/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 1, maxWindowS: 301 })).toThrow(/max window/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 1, batchSize: 2.5 })).toThrow(/batch size/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 1, maxConcurrency: 1 })).toThrow(/max concurrency/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 1, maxConcurrency: 1_001 })).toThrow(
      /max concurrency/,
    );
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 1, historyDays: 0 })).toThrow(/history days/);
    expect(() => planIngest({ filesPerDay: 1, mbPerFile: 1, design: 'mutex' as never })).toThrow(/design/);
  });
});

describe('planIngest, the old dataset lock (why the hot path had to change)', () => {
  it('1,000 files of 1 MB: 14 statements a batch, as before the change', () => {
    // 288 invocations of 3.4722 files: 0.05 + 0.03 + 14 x 0.3 + 0.100246809 + 0.04654255 = 4.42678936 s;
    // busy 14 x 0.1 + 0.100246809 + 0.04654255 = 1.54678936 s, billed 288 x 61.54678936 = 17,725.4753 s
    // = 4.92374 credits; the lock: 10 x 0.3 + 0.04654255 = 3.04654255 s a batch, 288 x 3.04654255 / 86,400
    // = 1.0155% of the day
    const copy = planIngest({ filesPerDay: 1_000, mbPerFile: 1, design: 'lock' }).modes.copy;
    expect(copy.warehouse.size).toBe('X-Small');
    expect(copy.invocationsPerDay).toBeCloseTo(288, 9);
    expect(copy.warehouse.busyPerBatchS).toBeCloseTo(1.54678936, 6);
    expect(copy.snowflakeCredits).toBeCloseTo(4.923743, 5);
    expect(copy.serialisation.holdS).toBeCloseTo(3.04654255, 7);
    expect(copy.serialisation.utilisation).toBeCloseTo((288 * 3.04654255) / 86_400, 9);
    // M/D/1 wait: rho x hold / (2 (1 - rho))
    const rho = (288 * 3.04654255) / 86_400;
    expect(copy.serialisation.meanWaitS).toBeCloseTo((rho * 3.04654255) / (2 * (1 - rho)), 9);
    expect(copy.lambdaDurationS).toBeCloseTo(4.42678936 + (rho * 3.04654255) / (2 * (1 - rho)), 6);
  });

  it('10 million files of 1.024 MB (10 TB) a day: COPY mode holds the lock 54.6% of the day', () => {
    // batches of 1,000 (9 s windows), 10,000 a day, on a Large: hold 10 x 0.3 + 1.024 GB x 0.0037234043
    // x 3600 / 8 = 1.71574468 -> 4.71574468 s; 10,000 x 4.71574468 / 86,400 = 0.5458038
    const copy = planIngest({ filesPerDay: 1e7, mbPerFile: 1.024, design: 'lock' }).modes.copy;
    expect(copy.warehouse.size).toBe('Large');
    expect(copy.invocationsPerDay).toBeCloseTo(10_000, 6);
    expect(copy.serialisation.holdS).toBeCloseTo(4.71574468, 6);
    expect(copy.serialisation.utilisation).toBeCloseTo(0.5458038, 6);
    // against the 70% target: 0.5458038 / 0.7 = 78%
    expect(term(copy, 'lock held').ratio).toBeCloseTo(0.5458038 / 0.7, 6);
    // the append path runs the same workload with no lock at all
    const append = planIngest({ filesPerDay: 1e7, mbPerFile: 1.024 }).modes.copy;
    expect(append.serialisation.utilisation).toBe(0);
  });

  it('pipe mode needs more lock time than the day has at 10 million files a day', () => {
    // 1e7 files of 0.01 MB: 2e7 records in batches of 500 (271 statements + 20 s wait < 150 s; 1,000 would
    // be 521 x 0.3 = 156 s) -> 40,000 invocations, each holding the lock >= 10 x 0.3 = 3 s:
    // >= 40,000 x 3 / 86,400 = 1.389 days of lock a day; the expected wait is unbounded
    const pipe = planIngest({ filesPerDay: 1e7, mbPerFile: 0.01, design: 'lock' }).modes.pipe;
    expect(pipe.batchSize).toBe(500);
    expect(pipe.invocationsPerDay).toBeCloseTo(40_000, 6);
    expect(pipe.serialisation.utilisation).toBeGreaterThanOrEqual((40_000 * 3) / 86_400);
    expect(pipe.serialisation.meanWaitS).toBe(Infinity);
    expect(pipe.ingestFeasible).toBe(false);
    expect(pipe.ingestBinding.name).toBe('lock held');
  });

  it('the deployed batch of 10 holds the lock 60% of the day already at 100,000 files a day', () => {
    // 100,000 files of 0.01 MB, batch 10, window 5 s: 1.1574 files/s x 5 = 5.787 files an invocation ->
    // 17,280 invocations; hold 3 s + parse (5.787 x 1e-5 GB x 0.0037234043 x 3600 = 0.00077568 s on X-Small)
    const copy = planIngest({ ...deployedInput({ filesPerDay: 100_000, mbPerFile: 0.01 }), design: 'lock' })
      .modes.copy;
    expect(copy.invocationsPerDay).toBeCloseTo(17_280, 6);
    expect(copy.warehouse.size).toBe('X-Small');
    expect(copy.serialisation.utilisation).toBeCloseTo((17_280 * 3.00077568) / 86_400, 6);
  });

  it('at a backlog every other invocation waits on the lock: beyond 20, Snowflake aborts them (000625)', () => {
    // MaximumConcurrency 30: 29 waiters > 20; with 21, 20 waiters, at the limit
    const over = planIngest({ filesPerDay: 1e5, mbPerFile: 1, design: 'lock', maxConcurrency: 30 }).modes
      .copy;
    expect(over.serialisation.waiters).toBe(29);
    expect(term(over, 'lock waiters').ratio).toBeCloseTo(29 / 20, 12);
    expect(term(over, 'lock waiters').fits).toBe(false);
    const at = planIngest({ filesPerDay: 1e5, mbPerFile: 1, design: 'lock', maxConcurrency: 21 }).modes.copy;
    expect(term(at, 'lock waiters').fits).toBe(true);
  });
});

describe('the weekly rebuild and compaction', () => {
  it('a year of 1 GB a day: 5 reads on an X-Large within 80% of 15 minutes', () => {
    // 365 GB x (4 rebuild + 1 compaction) reads / 720 GB per credit = 2.5347222 credits; X-Large (16/h):
    // 2.5347222 x 3600 / 16 = 570.3125 s <= 720; a Large would take 1,140.625 s
    const r = planRebuild(1, 365, 'append');
    expect(r.passes).toBe(5);
    expect(r.size).toBe('X-Large');
    expect(r.wallS).toBeCloseTo(570.3125, 9);
    expect(r.creditsPerWeek).toBeCloseTo(2.5347222, 6);
    // the compaction's one read of the 365 GB on the X-Large: 365 / 720 x 3600 / 16
    expect(r.compactionWallS).toBeCloseTo(114.0625, 9);
    expect(r.fits).toBe(true);
    // the lock design replaces rows in the hot path: 4 reads, no compaction
    const old = planRebuild(1, 365, 'lock');
    expect(old.passes).toBe(4);
    expect(old.compactionWallS).toBe(0);
  });

  it('a year of 100 GB a day does not fit one invocation on any warehouse', () => {
    // 36,500 GB x 5 / 720 = 253.4722 credits; a 4X-Large (128/h) takes 253.4722 x 3600 / 128 = 7,128.9 s > 720
    const r = planRebuild(100, 365, 'append');
    expect(r.size).toBe('4X-Large');
    expect(r.wallS).toBeCloseTo((253.4722222 * 3600) / 128, 4);
    expect(r.fits).toBe(false);
    // so the plan's rebuild term fails while its ingest fits
    const copy = planIngest({ filesPerDay: 100_000, mbPerFile: 1 }).modes.copy;
    expect(copy.ingestFeasible).toBe(true);
    expect(copy.feasible).toBe(false);
    expect(copy.binding.name).toBe('rebuild');
    // its cost, amortised: 253.4722 credits a week / 7 x $3
    expect(copy.usd.rebuild).toBeCloseTo((253.4722222 / 7) * 3, 4);
  });
});

describe('the whole grid', () => {
  // every row of docs/SCALE.md, both designs, the model's and the deployed settings
  const rows = [...gridRows(undefined, 'append'), ...gridRows(undefined, 'lock')];
  const plans = rows.flatMap((r) => [r.plan, r.deployed]);
  const modePlans = plans.flatMap((p) => Object.values(p.modes));

  it('holds 9 workloads per design', () => {
    expect(rows).toHaveLength(18);
  });

  it('no plan claims to fit where one of its terms does not', () => {
    for (const m of modePlans) {
      const ingest = m.terms.filter((t) => t.name !== 'rebuild');
      expect(m.ingestFeasible).toBe(ingest.every((t) => t.fits));
      expect(m.feasible).toBe(m.terms.every((t) => t.fits));
      if (m.feasible) expect(m.binding.ratio).toBeLessThanOrEqual(1 + 1e-12);
      if (!m.ingestFeasible) expect(m.ingestBinding.fits).toBe(false);
    }
  });

  it('each term fits exactly when its demand is within its limit (the payload is cut, never failed)', () => {
    for (const m of modePlans) {
      for (const t of m.terms) {
        if (t.name === 'invocation payload') expect(t.fits).toBe(true);
        else expect(t.fits).toBe(t.ratio <= 1);
      }
    }
  });

  it('each term is recomputed from the plan it belongs to', () => {
    for (const m of modePlans) {
      const p = plans.find((x) => Object.values(x.modes).includes(m))!;
      const cap = Math.min(m.lambdaMaxConcurrency, 1_250);
      expect(term(m, 'Lambda budget').ratio).toBeCloseTo(m.longestInvocationS / 150, 9);
      expect(term(m, 'warehouse compute').ratio).toBeCloseTo(m.warehouse.utilisation / 0.7, 9);
      expect(term(m, 'statement slots').ratio).toBeCloseTo(m.warehouse.slotUtilisation / 0.7, 9);
      expect(term(m, 'lock held').ratio).toBeCloseTo(
        ((m.invocationsPerDay / 86_400) * m.serialisation.holdS) / 0.7,
        9,
      );
      expect(term(m, 'lock waiters').ratio).toBeCloseTo(m.serialisation.waiters / 20, 12);
      if (Number.isFinite(m.lambdaConcurrencyNeeded)) {
        expect(term(m, 'mapping concurrency').ratio).toBeCloseTo(m.lambdaConcurrencyNeeded / cap, 9);
        expect(term(m, 'account concurrency').ratio).toBeCloseTo(m.lambdaConcurrencyNeeded / 1_000, 9);
      }
      expect(term(m, 'rebuild').ratio).toBeCloseTo(p.rebuild.wallS / 720, 9);
    }
  });

  it('the append path never serialises; the lock path always holds the lock', () => {
    for (const m of modePlans) {
      if (m.design === 'append') expect(m.serialisation.utilisation).toBe(0);
      else expect(m.serialisation.holdS).toBeGreaterThanOrEqual(10 * 0.3);
    }
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
    // dollars at the arm64 rate: GB-s = 580.85 x 1 GB; one request; 60 s minimum of an X-Small
    const seconds = 5 + 20_000_000 / ((60_000 * 1024) / 1769);
    expect(t.options.stream.usd).toBeCloseTo(seconds * 0.0000133334 + 0.2 / 1e6 + (60 / 3600) * 3, 9);
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
