/**
 * `npm run demo`: the whole pipeline on embedded defaults, with no setup and no cloud account.
 *
 *   start the local stack in-process on free ports (scratch dir .local/demo)
 *   -> generate 3 months of seeded sample data -> upload it to the landing bucket
 *   -> every file ingested by the event-driven path (S3 notification -> SQS -> ingest handler)
 *   -> rebuild models, run data tests, publish the weekly export
 *   -> transfer two sample tables to the exports bucket, aggregated by month
 *   -> deliver one to a named destination in another (simulated) account through the HTTP API:
 *      verify the destination, POST /transfers (202), poll GET /transfers/{run_id} until it is done
 *   -> a short summary; exit 0 only when every stage succeeded.
 */
import '../env';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateSampleData } from '../generator';
import { uploadDirectory } from '../upload';
import { startStack, type Stack } from '../stack';
import { createLogger, setLogSink } from '../../shared/logger';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { table } from '../format';
import { errorMessage } from '../../shared/errors';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import { verifyDestination } from '../../shared/delivery/verify';

/** The stakeholder the demo delivers to: another account, its bucket, its role for us (simulated locally). */
const STAKEHOLDER = {
  account: '111122223333',
  bucket: 'acme-shopping-drop',
  role: 'shopping-patterns-delivery-acme',
  key: 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

const out = (line = '') => process.stdout.write(line + '\n');

interface Stage {
  name: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      months: { type: 'string', default: '3' },
      customers: { type: 'string', default: '137' },
      seed: { type: 'string', default: '42' },
      verbose: { type: 'boolean', short: 'v', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  // the stack's per-file log lines go to .local/demo/demo.log unless --verbose
  const dir = path.resolve(process.env.LOCAL_DIR ?? '.local', 'demo');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'demo.log');
  if (!values.verbose) {
    const fd = fs.openSync(logFile, 'a');
    setLogSink((line) => fs.writeSync(fd, line + '\n'));
  }
  const log = createLogger({ component: 'demo' });
  const stages: Stage[] = [];
  const run = async (name: string, fn: () => Promise<string>): Promise<boolean> => {
    const t0 = Date.now();
    out(`\n== ${name}`);
    try {
      const detail = await fn();
      stages.push({ name, ok: true, detail, seconds: (Date.now() - t0) / 1000 });
      return true;
    } catch (err) {
      stages.push({ name, ok: false, detail: errorMessage(err), seconds: (Date.now() - t0) / 1000 });
      out(`   FAILED: ${errorMessage(err)}`);
      return false;
    }
  };

  out('shopping-patterns demo: the whole pipeline on embedded defaults (no cloud account)');
  out(`scratch directory ${path.relative(process.cwd(), dir)}; service logs in ${path.relative(process.cwd(), logFile)}`);

  let stack: Stack | undefined;
  try {
    const ok =
      (await run('start the local stack (S3 API, SQS API, DuckDB) on free loopback ports', async () => {
        // the stakeholder's side (their bucket, their role for us) and our destination record for it
        const externalId = crypto.randomUUID();
        fs.mkdirSync(path.join(dir, 'stack'), { recursive: true });
        fs.writeFileSync(
          path.join(dir, 'stack', 'destinations.json'),
          JSON.stringify({
            destinations: [
              {
                name: 'acme',
                description: 'demo stakeholder in another account',
                bucket: STAKEHOLDER.bucket,
                region: 'eu-west-2',
                account_id: STAKEHOLDER.account,
                access: { type: 'assume_role', role_arn: `arn:aws:iam::${STAKEHOLDER.account}:role/${STAKEHOLDER.role}`, external_id: externalId },
                kms_key_arn: STAKEHOLDER.key,
                prefix: 'shopping',
                format: 'csv.gz',
              },
            ],
          }),
        );
        stack = await startStack({
          dir: path.join(dir, 'stack'),
          s3Port: 0,
          sqsPort: 0,
          batchWindowMs: 200,
          log,
          stakeholders: [
            { account_id: STAKEHOLDER.account, buckets: [STAKEHOLDER.bucket], roles: [{ name: STAKEHOLDER.role, external_id: externalId }] },
          ],
        });
        out(`   S3 ${stack.s3.endpoint}   SQS ${stack.queues.endpoint}   DuckDB ${path.relative(process.cwd(), path.join(dir, 'stack', 'warehouse.duckdb'))}`);
        return 'up';
      })) &&
      (await run(`generate ${values.months} months of sample data (seed ${values.seed})`, async () => {
        const summary = await generateSampleData({
          outDir: path.join(dir, 'data'),
          months: Number(values.months),
          customers: Number(values.customers),
          seed: Number(values.seed),
          // up to today (UTC), so the freshness data test (newest purchase at most
          // FRESHNESS_MAX_AGE_HOURS before the newest file's arrival, i.e. now) passes on a clean
          // run; the same seed gives the same customers, baskets and times of day, only shifted
          end: new Date().toISOString().slice(0, 10),
          overwrite: true,
        });
        const line = `${summary.customers} customers, ${summary.products} products, ${summary.transactions} transactions in ${summary.days} daily files (${summary.start} to ${summary.end})`;
        out(`   ${line}`);
        return line;
      })) &&
      (await run('upload to the landing bucket; files load by themselves (S3 event -> SQS -> ingest)', async () => {
        const s = stack as Stack;
        const up = await uploadDirectory(path.join(dir, 'data'), { bucket: 'landing', client: createS3Client(s.config) });
        await s.waitForIdle({ timeoutMs: 300_000 });
        const [ledger] = await warehouse().query<{ loaded: number; other: number; rows: number; quarantined: number }>(
          `select count(*) filter (where status = 'loaded') as loaded, count(*) filter (where status <> 'loaded') as other,
                  coalesce(sum(rows_loaded), 0) as rows, coalesce(sum(rows_quarantined), 0) as quarantined
             from raw.file_ledger`,
        );
        const [counts] = await warehouse().query<{ transactions: number; items: number }>(
          `select (select count(*) from raw.transactions) as transactions, (select count(*) from raw.transaction_items) as items`,
        );
        if (Number(ledger!.loaded) !== up.files) {
          throw new Error(`${up.files} files uploaded but ${ledger!.loaded} loaded (${ledger!.other} other): see ${logFile}`);
        }
        const deliveries = s.consumer.deliveries.length;
        const line = `${up.files} files loaded exactly once in ${deliveries} deliveries: ${counts!.transactions} transactions, ${counts!.items} basket items, ${ledger!.quarantined} rows quarantined`;
        out(`   ${line}`);
        return line;
      })) &&
      (await run('rebuild models, run data tests, publish the weekly export', async () => {
        const { rebuild } = await import('../../shared/rebuild');
        const result = await rebuild({ bucket: 'exports' });
        out(result.report.replace(/^/gm, '   '));
        const sample = await warehouse().query(
          'select * from analytics.customer_product_purchases order by customer_id, product_id limit 8',
        );
        out('\n   analytics.customer_product_purchases (first rows):');
        out(table(Object.keys(sample[0] ?? {}), sample).replace(/^/gm, '   '));
        if (result.status !== 'published') throw new Error(`rebuild ${result.status}`);
        return `${result.models.length} models, tests ${result.tests.passed} passed / ${result.tests.warned} warned / ${result.tests.failed} failed, published s3://exports/${result.manifest_key}`;
      }));

    if (ok) {
      await run('transfer sample tables to the exports bucket, aggregated by month', async () => {
        const transfer = await loadTransfer();
        if (!transfer) throw new Error('the transfer stage is not built yet');
        const { generateSampleTable } = await import('../sample-tables');
        const lines: string[] = [];
        for (const name of ['LOCATIONS_595', 'ORDERS_100K']) {
          await generateSampleTable(warehouse(), name);
          const result = await transfer({ source_table: name, destination_s3_bucket: 'exports' });
          const line = `${name}: ${result.row_count} monthly rows -> s3://exports/${result.file_name}`;
          out(`   ${line}`);
          lines.push(line);
        }
        return lines.join('; ');
      });
      await run('deliver ORDERS_100K to destination acme (account 111122223333) through the HTTP API', async () => {
        const s = stack as Stack;
        const report = await verifyDestination('acme');
        for (const c of report.checks) out(`   ${c.ok ? 'PASS' : 'FAIL'}  ${c.check.padEnd(32)} ${c.detail}`);
        if (!report.ok) throw new Error('destination acme did not verify');
        const call = async (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
          const res = await fetch(`${s.api.url}${route}`, {
            method,
            headers: { authorization: `Bearer ${s.api.token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        const request = { source_table: 'ORDERS_100K', destination: 'acme', columns: ['O_ORDERSTATUS', 'O_TOTALPRICE', 'O_ORDERDATE'] };
        const key = { 'idempotency-key': `demo-${Date.now()}` };
        const posted = await call('POST', '/transfers', request, key);
        out(`   POST /transfers -> ${posted.status} ${JSON.stringify({ run_id: posted.body.run_id, status: posted.body.status })}`);
        if (posted.status !== 202) throw new Error(`POST /transfers answered ${posted.status}: ${JSON.stringify(posted.body)}`);
        const runId = String(posted.body.run_id);
        let polled = posted;
        for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
          polled = await call('GET', `/transfers/${runId}`);
          if (polled.body.status === 'succeeded' || polled.body.status === 'failed') break;
          await new Promise((r) => setTimeout(r, 250));
        }
        out(`   GET /transfers/${runId} -> ${polled.status} ${polled.body.status}`);
        out(JSON.stringify(polled.body.result ?? polled.body, null, 2).replace(/^/gm, '   '));
        if (polled.body.status !== 'succeeded') throw new Error(`the delivery ${polled.body.status}: ${String(polled.body.error ?? '')}`);
        const again = await call('POST', '/transfers', request, key);
        if (again.body.run_id !== runId) throw new Error('a repeated POST with the same Idempotency-Key started another run');
        out(`   POST again with the same Idempotency-Key -> ${again.status}, the same run ${runId}`);
        const result = polled.body.result as { file_name: string; row_count: number };
        const manifest = await createS3Client(s.config).send(
          new GetObjectCommand({ Bucket: STAKEHOLDER.bucket, Key: result.file_name, ExpectedBucketOwner: STAKEHOLDER.account }),
        );
        out(`   s3://${STAKEHOLDER.bucket}/${result.file_name}: ${manifest.ServerSideEncryption} with the stakeholder's key, owned by ${STAKEHOLDER.account}`);
        return `${result.row_count} monthly rows -> s3://${STAKEHOLDER.bucket}/${result.file_name} (run ${runId})`;
      });
    }
  } finally {
    await stack?.stop();
  }

  out('\n== summary');
  for (const s of stages) out(`   ${s.ok ? 'ok    ' : 'FAILED'} ${s.name} (${s.seconds.toFixed(1)} s)${s.ok ? '' : `: ${s.detail}`}`);
  const failed = stages.filter((s) => !s.ok);
  out(failed.length === 0 ? '\ndemo complete: every stage succeeded' : `\ndemo failed: ${failed.length} stage(s) failed`);
  return failed.length === 0 ? 0 : 1;
}

type TransferFn = (event: { source_table: string; destination_s3_bucket: string }) => Promise<{
  file_name: string;
  row_count: number;
  timestamp: string;
}>;

/** The transfer library, when it is built. */
async function loadTransfer(): Promise<TransferFn | undefined> {
  try {
    const mod = (await import('../../shared/transfer')) as unknown as { transferData?: TransferFn };
    return mod.transferData;
  } catch {
    return undefined;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`demo failed: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
