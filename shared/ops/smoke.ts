/**
 * The smoke test of a deployed stack (`npm run smoke -- --stage dev`), end to end through the real
 * path: upload one small transactions file to the landing bucket, wait until the file ledger says it
 * loaded, reconcile the landing bucket against the ledger for that file, run the rebuild, run a
 * transfer. One pass/fail line per step; the first failure stops the steps that depend on it.
 *
 * The steps are the same on every stage; only the `invoke` differs (Lambda's Invoke API on AWS, the
 * handlers in-process against the local stack), so the suite runs this logic against the local stack.
 * The ledger is read with SQL on raw.file_ledger (bucket, key, version, dataset, status, rows_loaded,
 * rows_quarantined, first_error, loaded_at) and nothing else.
 *
 * What it leaves behind, by design: one transactions file (one line, customer SMOKE-TEST) in the
 * landing bucket and its rows, the rebuild's export and the transfer's output.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Route } from '../config';
import { errorMessage } from '../errors';
import type { Warehouse } from '../warehouse/port';
import { reconcile } from './reconcile';
import { SERVICE } from './target';

export type SmokeFunction = 'rebuild' | 'transfer';

export interface SmokeDeps {
  s3: S3Client;
  wh: Warehouse;
  landingBucket: string;
  exportsBucket: string;
  routes: readonly Route[];
  /** Does the landing bucket keep versions (reconcile lists versions then)? */
  versioned: boolean;
  /** Run a function synchronously and return its result; throws with the function's error. */
  invoke(fn: SmokeFunction, payload: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * Also transfer in unload mode (Snowflake's COPY INTO the export stage): the deployed stages. The
   * local stage's DuckDB has no unload.
   */
  unload?: boolean;
  /** Key prefix of the sample (under a routed prefix). Default `transactions/d=<today>/`. */
  keyPrefix?: string;
  /** How long to wait for the ledger, ms. Default 300 000 (SQS batching + a cold start + COPY). */
  ledgerTimeoutMs?: number;
  pollMs?: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export interface SmokeStep {
  step: 'upload' | 'ledger' | 'reconcile' | 'rebuild' | 'transfer' | 'transfer (unload)';
  ok: boolean;
  detail: string;
}

export interface LedgerRow {
  bucket: string;
  key: string;
  version: string;
  dataset: string;
  status: string;
  rows_loaded: number;
  rows_quarantined: number;
  first_error: string | null;
  loaded_at: string | null;
}

/** One valid transactions line, dated now: it loads as exactly one transaction with one basket item. */
export function smokeSample(now: Date): { line: string; rows: number } {
  const at = now.toISOString().slice(0, 19).replace('T', ' ');
  return {
    line: `${JSON.stringify({ customer_id: 'SMOKE-TEST', basket: [{ product_id: 'SMOKE-P1', price: 1 }], date_of_purchase: at })}\n`,
    rows: 1,
  };
}

export async function runSmoke(
  deps: SmokeDeps,
  onStep: (s: SmokeStep) => void = () => undefined,
): Promise<SmokeStep[]> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const steps: SmokeStep[] = [];
  const record = (s: SmokeStep): boolean => {
    steps.push(s);
    onStep(s);
    return s.ok;
  };
  const started = now();
  const day = started.toISOString().slice(0, 10);
  const key = `${deps.keyPrefix ?? `transactions/d=${day}/`}smoke-${started.getTime()}.json`;
  const sample = smokeSample(started);

  // 1. upload
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.landingBucket,
        Key: key,
        Body: sample.line,
        ContentType: 'application/x-ndjson',
      }),
    );
    if (!record({ step: 'upload', ok: true, detail: `s3://${deps.landingBucket}/${key}` })) return steps;
  } catch (err) {
    record({ step: 'upload', ok: false, detail: `s3://${deps.landingBucket}/${key}: ${errorMessage(err)}` });
    return steps;
  }

  // 2. the ledger says it loaded (a terminal status ends the wait at once)
  const deadline = started.getTime() + (deps.ledgerTimeoutMs ?? 300_000);
  let row: LedgerRow | undefined;
  try {
    for (;;) {
      const rows = await deps.wh.query(
        `select bucket, key, version, dataset, status, rows_loaded, rows_quarantined, first_error, loaded_at
           from raw.file_ledger where bucket = ? and key = ?`,
        [deps.landingBucket, key],
      );
      row = rows.map(lowerKeys).find((r) => r.status !== 'pending');
      if (row && row.status !== 'held') break;
      if (now().getTime() > deadline) break;
      await sleep(deps.pollMs ?? 2000);
    }
  } catch (err) {
    record({ step: 'ledger', ok: false, detail: `raw.file_ledger could not be read: ${errorMessage(err)}` });
    return steps;
  }
  const loaded =
    row?.status === 'loaded' && Number(row.rows_loaded) === sample.rows && Number(row.rows_quarantined) === 0;
  const ledgerDetail = row
    ? `${row.status}, ${row.rows_loaded} row(s) loaded, ${row.rows_quarantined} quarantined${row.first_error ? `, error: ${row.first_error}` : ''}`
    : `no ledger row after ${Math.round((deps.ledgerTimeoutMs ?? 300_000) / 1000)} s (is the ingest queue draining? see the ingest logs)`;
  if (!record({ step: 'ledger', ok: loaded, detail: ledgerDetail })) return steps;

  // 3. reconcile: the landing object and the ledger agree
  try {
    const result = await reconcile({
      s3: deps.s3,
      wh: deps.wh,
      bucket: deps.landingBucket,
      routes: deps.routes,
      prefix: key,
      versioned: deps.versioned,
      graceSeconds: 0,
    });
    const finding = result.entries.find((e) => e.key === key)?.finding ?? 'not listed';
    if (
      !record({
        step: 'reconcile',
        ok: result.problems === 0 && finding === 'loaded',
        detail: `${key}: ${finding}`,
      })
    )
      return steps;
  } catch (err) {
    record({ step: 'reconcile', ok: false, detail: errorMessage(err) });
    return steps;
  }

  // 4. rebuild: models, data tests and the export
  try {
    const result = await deps.invoke('rebuild', {});
    const ok = result.status === 'published';
    if (
      !record({
        step: 'rebuild',
        ok,
        detail: `status ${String(result.status)}${ok ? `, manifest ${String(result.manifest_key)}` : ' (see its report in the rebuild logs)'}`,
      })
    )
      return steps;
  } catch (err) {
    record({ step: 'rebuild', ok: false, detail: errorMessage(err) });
    return steps;
  }

  // 5. transfer of the weekly model to the exports bucket; 6. the same, written by Snowflake itself
  const transfer = async (step: 'transfer' | 'transfer (unload)', extra: Record<string, unknown>): Promise<boolean> => {
    try {
      const result = await deps.invoke('transfer', {
        source_table: 'analytics.customer_product_purchases_monthly',
        destination_s3_bucket: deps.exportsBucket,
        ...extra,
      });
      const ok = typeof result.file_name === 'string' && Number(result.row_count) > 0;
      record({ step, ok, detail: `${String(result.row_count)} row(s), manifest ${String(result.file_name)}` });
      return ok;
    } catch (err) {
      record({ step, ok: false, detail: errorMessage(err) });
      return false;
    }
  };
  const streamed = await transfer('transfer', { run_id: `smoke-${started.getTime()}` });
  if (streamed && deps.unload) await transfer('transfer (unload)', { run_id: `smoke-unload-${started.getTime()}`, mode: 'unload' });
  return steps;
}

function lowerKeys(row: object): LedgerRow {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]),
  ) as unknown as LedgerRow;
}

export function formatStep(s: SmokeStep): string {
  return `${s.ok ? 'PASS' : 'FAIL'}  ${s.step.padEnd(9)} ${s.detail}`;
}

/**
 * Invoke through Lambda's API, synchronously, once. A synchronous Invoke waits up to the function's
 * timeout (15 min for rebuild and transfer) with no bytes on the socket: the client's socket timeout
 * is above that, and it never retries (a retried Invoke is a second run of the job).
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
export function lambdaInvoker(lambda: LambdaClient, stage: string): SmokeDeps['invoke'] {
  return async (fn, payload) => {
    const res = await lambda.send(
      new InvokeCommand({
        FunctionName: `${SERVICE}-${stage}-${fn}`,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    const text = res.Payload ? Buffer.from(res.Payload).toString('utf8') : '';
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { raw: text };
    }
    if (res.FunctionError) {
      throw new Error(
        `${fn} failed (${res.FunctionError}): ${String(body.errorType ?? '')}: ${String(body.errorMessage ?? text)}`,
      );
    }
    return body;
  };
}

export function smokeLambdaClient(region: string): LambdaClient {
  return new LambdaClient({
    region,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 960_000 },
  });
}
