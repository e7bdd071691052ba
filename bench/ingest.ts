/**
 * `npm run bench -- ingest [--months 24] [--customers 10000] [--seed 7] [--singles 20]
 *                         [--batch-size 10] [--window-ms 200] [--concurrency 5]`
 *
 * Two years of generated data for 10,000 customers (about 730 daily files) through the event-driven
 * path (PutObject -> S3-shaped notification -> SQS API -> ingest handler -> DuckDB), against one bulk
 * DuckDB read of the same files from local disk (the practical limit), measured in the same run.
 * Also the lag from PutObject to rows visible: under the bulk load, and for single files on an idle stack.
 * Results: bench/results/ingest.json and bench/results/ingest.md.
 */
import '../local/env';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mapLimit } from '../shared/concurrency';
import { generateSampleData } from '../local/generator';
import { DEPLOYED } from '../local/plan/constants';
import { startStack } from '../local/stack';
import { uploadDirectory } from '../local/upload';
import { setLogSink } from '../shared/logger';
import { createS3Client, listObjects } from '../shared/storage/object-store';
import { warehouse } from '../shared/warehouse';
import { DuckDbWarehouse } from '../shared/warehouse/duckdb';

const RESULTS = path.join(__dirname, 'results');

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export async function run(argv: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      months: { type: 'string', default: '24' },
      customers: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '7' },
      singles: { type: 'string', default: '20' },
      'batch-size': { type: 'string', default: '10' },
      'window-ms': { type: 'string', default: '200' },
      // the deployed event source mapping's maximum concurrency (serverless.yml ingestMaxConcurrency)
      concurrency: { type: 'string', default: String(DEPLOYED.maximumConcurrency) },
    },
  });
  const months = Number(values.months);
  const customers = Number(values.customers);
  const root = path.resolve('.local', 'bench', 'ingest');
  const dataDir = path.join(root, `data-${months}m-${customers}c-s${values.seed}`);
  fs.mkdirSync(root, { recursive: true });
  const logFd = fs.openSync(path.join(root, 'bench.log'), 'w');
  setLogSink((line) => fs.writeSync(logFd, line + '\n'));
  const say = (s: string) => process.stderr.write(s + '\n');

  if (!fs.existsSync(path.join(dataDir, 'customers.csv'))) {
    say(`generating ${months} months for ${customers} customers into ${path.relative(process.cwd(), dataDir)} ...`);
    await generateSampleData({ outDir: dataDir, months, customers, seed: Number(values.seed), end: '2020-01-01', overwrite: true });
  }
  const files = fs.readdirSync(path.join(dataDir, 'transactions')).length + 2;

  // Baseline: one bulk read of the same files by DuckDB itself, into the same raw shape.
  const baselineFile = path.join(root, 'baseline.duckdb');
  fs.rmSync(baselineFile, { force: true });
  fs.rmSync(baselineFile + '.wal', { force: true });
  const baseline = new DuckDbWarehouse(baselineFile);
  await baseline.query('select 1');
  const glob = path.join(dataDir, 'transactions', '*', '*.json');
  const b0 = performance.now();
  await baseline.executeScript(`
    create table bulk_tx as
      select filename, customer_id, basket, cast(date_of_purchase as timestamp) as purchased_at
        from read_json('${glob}', format = 'newline_delimited', filename = true,
                       columns = {customer_id: 'varchar', basket: 'struct(product_id varchar, price double)[]', date_of_purchase: 'varchar'});
    create table bulk_items as
      select filename, customer_id, purchased_at, item.product_id, item.price
        from (select filename, customer_id, purchased_at, unnest(basket) as item from bulk_tx);
    create table bulk_customers as select * from read_csv('${path.join(dataDir, 'customers.csv')}', header = true);
    create table bulk_products as select * from read_csv('${path.join(dataDir, 'products.csv')}', header = true);
  `);
  const bulkSeconds = (performance.now() - b0) / 1000;
  const [bulk] = await baseline.query<{ tx: number; items: number }>(
    'select (select count(*) from bulk_tx) as tx, (select count(*) from bulk_items) as items',
  );
  await baseline.close();
  say(`bulk DuckDB read: ${bulkSeconds.toFixed(2)} s for ${bulk!.tx} transactions, ${bulk!.items} items`);

  // The event-driven path.
  const stackDir = path.join(root, 'stack');
  fs.rmSync(stackDir, { recursive: true, force: true });
  const batchSize = Number(values['batch-size']);
  const batchWindowMs = Number(values['window-ms']);
  const concurrency = Number(values.concurrency);
  const stack = await startStack({ dir: stackDir, s3Port: 0, sqsPort: 0, batchSize, batchWindowMs, concurrency });
  const putAt = new Map<string, number>();
  const wallStart = Date.now();
  const e0 = performance.now();
  await uploadDirectory(dataDir, {
    bucket: 'landing',
    client: createS3Client(stack.config),
    concurrency: 8,
    onProgress: (p) => {
      if (p.key) putAt.set(p.key, Date.now());
    },
  });
  const uploadSeconds = (performance.now() - e0) / 1000;
  await stack.waitForIdle({ timeoutMs: 3_600_000, settleMs: 500 });
  const eventSeconds = (performance.now() - e0) / 1000;
  const wh = warehouse();
  const ledger = await wh.query<{ key: string; loaded_ms: number; status: string }>(
    `select key, status, epoch_ms(loaded_at) as loaded_ms from raw.file_ledger`,
  );
  const [loaded] = await wh.query<{ tx: number; items: number }>(
    'select (select count(*) from raw.transactions) as tx, (select count(*) from raw.transaction_items) as items',
  );
  const bulkLags = ledger
    .filter((r) => r.status === 'loaded' && putAt.has(r.key))
    .map((r) => Number(r.loaded_ms) - (putAt.get(r.key) as number));

  // Single files on an idle stack: PutObject to rows visible.
  const s3 = createS3Client(stack.config);
  const singleLags: number[] = [];
  for (let i = 0; i < Number(values.singles); i++) {
    const key = `transactions/d=2030-01-${String((i % 28) + 1).padStart(2, '0')}/single-${i}.json`;
    const body = JSON.stringify({ customer_id: 'C1', basket: [{ product_id: 'P01', price: 1 }], date_of_purchase: '2030-01-01 10:00:00' }) + '\n';
    const t0 = Date.now();
    await s3.send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: body }));
    for (;;) {
      const rows = await wh.query(`select 1 from raw.transactions where _file_key = ? limit 1`, [key]);
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    singleLags.push(Date.now() - t0);
  }
  const deliveries = stack.consumer.deliveries.length;
  await stack.stop();

  // Ingest alone: the same files already in the bucket and their notifications queued (consumer
  // paused during the upload), then the backlog drained. Separates ingest cost from upload cost.
  fs.rmSync(stackDir, { recursive: true, force: true });
  const drainStack = await startStack({ dir: stackDir, s3Port: 0, sqsPort: 0, batchSize, batchWindowMs, concurrency, consume: false });
  await uploadDirectory(dataDir, { bucket: 'landing', client: createS3Client(drainStack.config), concurrency: 8 });
  await waitForQueued(drainStack, files);
  const d0 = performance.now();
  drainStack.consumer.start();
  await drainStack.waitForIdle({ timeoutMs: 3_600_000, settleMs: 0 });
  const drainSeconds = (performance.now() - d0) / 1000;
  const [drained] = await warehouse().query<{ tx: number }>('select count(*) as tx from raw.transactions');
  // The local S3 server's own floor: reading the same objects, with the same concurrency, doing nothing
  const floorClient = createS3Client(drainStack.config);
  const keys: string[] = [];
  for await (const o of listObjects('landing', '', floorClient)) keys.push(o.key);
  const f0 = performance.now();
  await mapLimit(keys, 4, async (key) => {
    const res = await floorClient.send(new GetObjectCommand({ Bucket: 'landing', Key: key }));
    for await (const chunk of res.Body as AsyncIterable<Buffer>) void chunk;
  });
  const floorSeconds = (performance.now() - f0) / 1000;
  await drainStack.stop();
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);

  const ok =
    Number(loaded!.tx) === Number(bulk!.tx) && Number(loaded!.items) === Number(bulk!.items) && Number(drained!.tx) === Number(bulk!.tx);
  const result = {
    benchmark: 'ingest',
    date: new Date(wallStart).toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    data: { months, customers, files, transactions: Number(bulk!.tx), items: Number(bulk!.items) },
    baseline_bulk_duckdb_seconds: round(bulkSeconds),
    event_driven_seconds: round(eventSeconds),
    upload_seconds: round(uploadSeconds),
    ratio_event_to_bulk: round(eventSeconds / bulkSeconds),
    ingest_only_drain_seconds: round(drainSeconds),
    ratio_ingest_only_to_bulk: round(drainSeconds / bulkSeconds),
    local_s3_floor_seconds: round(floorSeconds),
    ratio_ingest_only_less_s3_floor_to_bulk: round((drainSeconds - floorSeconds) / bulkSeconds),
    peak_rss_mb: peakRssMb,
    batch: { size: batchSize, window_ms: batchWindowMs, pollers: concurrency },
    deliveries,
    files_per_second: round(files / eventSeconds),
    rows_per_second: Math.round(Number(bulk!.tx) / eventSeconds),
    lag_under_load_ms: { p50: percentile(bulkLags, 50), p95: percentile(bulkLags, 95), p99: percentile(bulkLags, 99) },
    lag_single_file_idle_ms: { p50: percentile(singleLags, 50), p95: percentile(singleLags, 95), n: singleLags.length },
    counts_match_bulk: ok,
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, 'ingest.json'), JSON.stringify(result, null, 2) + '\n');
  const md = [
    `# ingest benchmark (${result.date})`,
    '',
    `${files} files, ${result.data.transactions} transactions, ${result.data.items} items (${months} months, ${customers} customers); ${result.machine.cpus} cores, node ${result.machine.node}`,
    '',
    '| measure | value |',
    '|---|---|',
    `| bulk DuckDB read of the same files (baseline) | ${result.baseline_bulk_duckdb_seconds} s |`,
    `| event-driven path, first PutObject to last file loaded | ${result.event_driven_seconds} s (upload alone ${result.upload_seconds} s) |`,
    `| ratio event-driven / bulk | **${result.ratio_event_to_bulk}x** |`,
    `| ingest alone: draining the queued notifications of the same files | ${result.ingest_only_drain_seconds} s, **${result.ratio_ingest_only_to_bulk}x** bulk (target within 3x) |`,
    `| the local S3 server's floor: GET of the same objects, nothing done with them | ${result.local_s3_floor_seconds} s; ingest alone less this floor: ${result.ratio_ingest_only_less_s3_floor_to_bulk}x bulk |`,
    `| peak RSS of the whole run (stack, S3 and SQS servers, DuckDB, generator: one process) | ${result.peak_rss_mb} MB |`,
    `| throughput | ${result.files_per_second} files/s, ${result.rows_per_second} transactions/s, ${deliveries} deliveries (batch size ${batchSize}, window ${batchWindowMs} ms, ${concurrency} poller${concurrency === 1 ? '' : 's'}) |`,
    `| lag PutObject -> rows visible, under the bulk load | p50 ${result.lag_under_load_ms.p50} ms, p95 ${result.lag_under_load_ms.p95} ms, p99 ${result.lag_under_load_ms.p99} ms |`,
    `| lag PutObject -> rows visible, single file, idle stack | p50 ${result.lag_single_file_idle_ms.p50} ms, p95 ${result.lag_single_file_idle_ms.p95} ms (n=${singleLags.length}) |`,
    `| loaded counts equal the bulk read | ${ok ? 'yes' : 'NO'} |`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(RESULTS, 'ingest.md'), md);
  process.stdout.write(md);
  if (!ok) throw new Error('event-driven load does not match the bulk read');
}

async function waitForQueued(stack: Awaited<ReturnType<typeof startStack>>, n: number): Promise<void> {
  const { queueDepth } = await import('../local/stack/queue');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if ((await queueDepth(stack.queues.client, stack.queues.queueUrl)).visible >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${n} queued notifications`);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

if (require.main === module) {
  run(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`bench ingest failed: ${err.message}\n`);
    process.exit(1);
  });
}
