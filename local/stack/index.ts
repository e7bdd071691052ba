/**
 * The embedded local stack: the same handlers as AWS, with local adapters around them.
 *
 *   landing bucket (./s3-server.ts) --object created--> S3-shaped notification --> ingest queue (SQS API)
 *        --> poller (event source mapping) --> functions/ingest.handler --> DuckDB
 *   cron from serverless.yml --> functions/rebuild.handler, functions/transfer.handler (the delivery dispatcher)
 *   loopback warehouse endpoint --> npm run query, sls invoke local, CLIs (DuckDB has one writer)
 *   loopback HTTP API (token) --> functions/api.handler --> functions/transfer.handler (in process,
 *        asynchronous runs in the background, as Lambda's Event invocations)
 *   loopback STS + stakeholder buckets --> the stakeholders' side of a delivery (./stakeholders.ts)
 *
 * `startStack` is used by `npm start` (fixed ports, .local/), by the demo and by integration tests
 * (free ports, a scratch directory).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { setTransferFunction } from '../../shared/delivery/invoke';
import { errorMessage } from '../../shared/errors';
import { resetConfig, config, type Config } from '../../shared/config';
import type { DatasetRegistry } from '../../shared/datasets';
import { createLogger, type Logger } from '../../shared/logger';
import { reconcile } from '../../shared/ops/reconcile';
import { s3 as s3Client, setS3Client } from '../../shared/storage/object-store';
import { setWarehouse, warehouse } from '../../shared/warehouse';
import { ConfigError } from '../../shared/errors';
import { newWarehouseToken, runningStack, STACK_FILE, writeStackInfo, type StackInfo } from '../../shared/warehouse/remote';
import { DEPLOYED } from '../plan/constants';
import { QueueConsumer, type SqsHandler } from './consumer';
import { toS3Notification } from './notifications';
import { queueDepth, startLocalQueues, type LocalQueues } from './queue';
import { startLocalS3, type LocalS3 } from './s3';
import { readSchedules, schedule, type RunningSchedule } from './schedule';
import { startWarehouseServer } from './warehouse-server';
import { startApiServer } from './api-server';
import { normalise, readStakeholders, type LocalStakeholder } from './stakeholders';
import { startLocalSts, type LocalSts } from './sts-server';

export interface StackOptions {
  /** Directory for the bucket data, the DuckDB file and stack.json. */
  dir: string;
  s3Port: number;
  sqsPort: number;
  warehousePort?: number;
  /** The HTTP API (default: a free port). */
  apiPort?: number;
  /** The local STS (default: a free port). */
  stsPort?: number;
  /** Stakeholder accounts to simulate, beside those in <dir>/stakeholders.json. */
  stakeholders?: LocalStakeholder[];
  batchSize?: number;
  batchWindowMs?: number;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  /** Run the schedules declared in serverless.yml (npm start: yes; demo and tests: no). */
  schedules?: boolean;
  /** Replace the ingest handler (tests of queue semantics). Default: functions/ingest.handler. */
  handler?: SqsHandler;
  /** The datasets to ingest (a test or an extension declaring more). Default: the three retail ones. */
  datasets?: DatasetRegistry;
  /** Start the queue consumer (tests may poll by hand). Default true. */
  consume?: boolean;
  /**
   * Concurrent ingest invocations: the event source mapping's maximum concurrency. Default: the
   * deployed ingestMaxConcurrency (5), so the local stack loads files as concurrently as Lambda does.
   */
  concurrency?: number;
  /** The ingest invocation's timeout, as Lambda's context counts it down (default 120 s). */
  invocationTimeoutMs?: number;
  log?: Logger;
}

export interface Stack {
  config: Config;
  s3: LocalS3;
  queues: LocalQueues;
  consumer: QueueConsumer;
  schedules: RunningSchedule[];
  warehouseUrl: string;
  /** The HTTP API (POST /transfers, GET /transfers/{run_id}) and its token. */
  api: { url: string; token: string };
  sts: LocalSts;
  /** Simulate one more stakeholder account: its buckets and its roles. */
  addStakeholder(s: LocalStakeholder): void;
  /** Fire a function's schedule now (as EventBridge would); resolves when that run has ended. */
  runSchedule(functionName: string): Promise<void>;
  /** Resolves when every transfer started asynchronously has ended. */
  waitForTransfers(): Promise<void>;
  /**
   * Re-queue what the landing bucket holds but the ledger never loaded. The local queue lives in
   * memory, so messages in flight when the stack stopped are gone; the objects and the ledger are
   * not, and the ledger keeps a replay exactly once. Returns how many objects were re-queued.
   */
  catchUp(): Promise<{ requeued: number; failed: number }>;
  /** Resolves when the queue is empty and no batch is in flight. */
  waitForIdle(opts?: { timeoutMs?: number; settleMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? createLogger({ component: 'stack' });
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true });

  const stakeholders = [...readStakeholders(dir), ...(opts.stakeholders ?? []).map(normalise)];
  const s3 = await startLocalS3({
    port: opts.s3Port,
    dir: path.join(dir, 's3'),
    buckets: ['landing', 'exports', ...stakeholders.flatMap((h) => h.buckets.map((name) => ({ name, owner: h.account_id })))],
  });
  const roleArns = (h: ReturnType<typeof normalise>) =>
    h.roles.map((r) => ({ arn: `arn:aws:iam::${h.account_id}:role/${r.name}`, externalId: r.external_id }));
  const sts = await startLocalSts({ port: opts.stsPort ?? 0, roles: stakeholders.flatMap(roleArns) }).catch(async (err) => {
    await s3.close();
    throw err;
  });
  const queues = await startLocalQueues({
    port: opts.sqsPort,
    region: process.env.AWS_REGION ?? 'eu-west-2',
    queueName: 'shopping-patterns-local-ingest',
    visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 5,
    maxReceiveCount: opts.maxReceiveCount ?? 5,
  }).catch(async (err) => {
    await s3.close();
    await sts.close();
    throw err;
  });

  // Configure this process as the local stage, then (re)load everything that reads config.
  // The previous values come back on stop(), so a test process is left as it was found.
  const stageEnv: Record<string, string> = {
    STAGE: 'local',
    LOCAL_DIR: dir,
    DUCKDB_PATH: path.join(dir, 'warehouse.duckdb'),
    S3_ENDPOINT: s3.endpoint,
    STS_ENDPOINT: sts.endpoint,
    INGEST_QUEUE_URL: queues.queueUrl,
    INGEST_DLQ_URL: queues.dlqUrl,
    LANDING_BUCKET: 'landing',
    EXPORTS_BUCKET: 'exports',
  };
  // a state file this stack cannot trust (others may read it, or another user owns it) is replaced
  // below; remove it first so nothing in this process acts on it meanwhile
  try {
    runningStack(dir);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.warn('replacing an untrusted stack.json', { error: err.message });
    fs.rmSync(path.join(dir, STACK_FILE), { force: true });
  }
  const savedEnv = Object.fromEntries(Object.keys(stageEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, stageEnv);
  resetConfig();
  setS3Client(undefined);
  setWarehouse(undefined);
  const cfg = config();
  const wh = warehouse();
  const warehouseToken = newWarehouseToken();
  const server = await startWarehouseServer(wh, opts.warehousePort ?? 0, warehouseToken);

  const queueArn = (
    await queues.client.send(
      new GetQueueAttributesCommand({ QueueUrl: queues.queueUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn as string;

  const notifyBuckets = new Set([cfg.buckets.landing]);
  s3.onEvent((event) => {
    const body = toS3Notification(event, { region: cfg.region, buckets: notifyBuckets });
    if (!body) return;
    queues.client
      .send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: body }))
      .catch((err: Error) => log.error('notification not queued', { error: err.message }));
  });

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ingest = require('../../functions/ingest') as typeof import('../../functions/ingest');
  const handler = opts.handler ?? (opts.datasets ? (ingest.createIngest(opts.datasets) as SqsHandler) : (ingest.handler as SqsHandler));
  const consumer = new QueueConsumer({
    client: queues.client,
    queueUrl: queues.queueUrl,
    queueArn,
    region: cfg.region,
    handler,
    batchSize: opts.batchSize ?? cfg.queue.batchSize,
    batchWindowMs: opts.batchWindowMs ?? 500,
    concurrency: opts.concurrency ?? DEPLOYED.maximumConcurrency,
    invocationTimeoutMs: opts.invocationTimeoutMs,
    log: log.child({ component: 'ingest-poller' }),
  });
  if (opts.consume !== false) consumer.start();

  // the transfer function in this process: calls answer, starts run in the background (Lambda's Event invocations)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const transferFn = require('../../functions/transfer') as typeof import('../../functions/transfer');
  const running = new Set<Promise<unknown>>();
  const lambdaContext = () => ({
    awsRequestId: randomUUID(),
    functionName: 'shopping-patterns-local-transfer',
    getRemainingTimeInMillis: () => 15 * 60_000,
  });
  setTransferFunction({
    call: (event) => transferFn.handler(event, lambdaContext() as never),
    start: async (event) => {
      const run: Promise<unknown> = transferFn
        .handler(event, lambdaContext() as never)
        .catch((err: unknown) => log.warn('transfer run failed', { runId: event.run_id, error: errorMessage(err) }))
        .finally(() => running.delete(run));
      running.add(run);
    },
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const apiFn = require('../../functions/api') as typeof import('../../functions/api');
  const apiToken = newWarehouseToken();
  const api = await startApiServer({ port: opts.apiPort ?? 0, token: apiToken, handler: (event) => apiFn.handler(event, lambdaContext() as never), match: apiFn.matchRoute });

  const schedules: RunningSchedule[] = [];
  const byFunction = new Map<string, RunningSchedule>();
  if (opts.schedules) {
    for (const s of readSchedules('local')) {
      const fnPath = path.join(__dirname, '..', '..', s.handler.replace(/\.[^.]+$/, ''));
      const exportName = s.handler.split('.').pop() as string;
      const job = schedule(s.expression, async () => {
        log.info('schedule fired', { function: s.functionName, expression: s.expression });
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const mod = require(fnPath) as Record<string, (e: unknown, c: unknown) => Promise<unknown>>;
          await mod[exportName]!(s.input ?? scheduledEvent(cfg.region, s.functionName), lambdaContext());
        } catch (err) {
          log.error('scheduled run failed', { function: s.functionName, error: (err as Error).message });
        }
      });
      schedules.push(job);
      byFunction.set(s.functionName, job);
    }
  }

  const info: StackInfo = {
    pid: process.pid,
    warehouseUrl: server.url,
    warehouseToken,
    duckdbPath: cfg.warehouse.engine === 'duckdb' ? cfg.warehouse.path : '',
    s3Endpoint: s3.endpoint,
    sqsEndpoint: queues.endpoint,
    queueUrl: queues.queueUrl,
    dlqUrl: queues.dlqUrl,
    startedAt: new Date().toISOString(),
    apiUrl: api.url,
    apiToken,
    stsEndpoint: sts.endpoint,
  };
  const stackFile = writeStackInfo(dir, info);

  let stopped = false;
  return {
    config: cfg,
    s3,
    queues,
    consumer,
    schedules,
    warehouseUrl: server.url,
    api: { url: api.url, token: apiToken },
    sts,
    addStakeholder: (h) => {
      const n = normalise(h);
      for (const b of n.buckets) s3.createBucket(b, n.account_id);
      for (const r of roleArns(n)) sts.addRole(r);
    },
    runSchedule: async (functionName) => {
      const found = byFunction.get(functionName);
      if (!found) throw new Error(`no schedule for ${functionName} (start the stack with schedules: true)`);
      await found.trigger();
    },
    waitForTransfers: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    catchUp: async () => {
      const result = await reconcile({
        s3: s3Client(),
        wh,
        bucket: cfg.buckets.landing,
        routes: opts.datasets ? opts.datasets.routes() : cfg.routes,
        graceSeconds: 0,
        fix: { sqs: queues.client, queueUrl: queues.queueUrl, region: cfg.region, style: 'local' },
      });
      return { requeued: result.fixed?.sent ?? 0, failed: result.counts.failed };
    },
    waitForIdle: async ({ timeoutMs = 120_000, settleMs = 300 } = {}) => {
      const deadline = Date.now() + timeoutMs;
      let quietSince = 0;
      while (Date.now() < deadline) {
        const depth = await queueDepth(queues.client, queues.queueUrl);
        const quiet = depth.visible === 0 && depth.inFlight === 0 && !consumer.isBusy;
        if (quiet) {
          quietSince ||= Date.now();
          if (Date.now() - quietSince >= settleMs) return;
        } else quietSince = 0;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`queue not drained after ${timeoutMs} ms`);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      for (const s of schedules) s.stop();
      await consumer.stop();
      await api.close();
      while (running.size > 0) await Promise.allSettled([...running]);
      setTransferFunction(undefined);
      await server.close();
      await sts.close();
      await queues.close();
      await s3.close();
      await wh.close();
      setWarehouse(undefined);
      for (const [k, v] of Object.entries(savedEnv)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      resetConfig();
      setS3Client(undefined);
      try {
        if ((JSON.parse(fs.readFileSync(stackFile, 'utf8')) as StackInfo).pid === process.pid)
          fs.unlinkSync(stackFile);
      } catch {
        // already gone
      }
    },
  };
}

/** The event EventBridge sends for a scheduled rule. */
export function scheduledEvent(region: string, functionName: string) {
  return {
    version: '0',
    id: `local-${Date.now()}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region,
    resources: [`arn:aws:events:${region}:000000000000:rule/shopping-patterns-local-${functionName}`],
    detail: {},
  };
}
