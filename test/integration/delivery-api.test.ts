/**
 * Stakeholder delivery on the local stack, through its HTTP API with a real HTTP client (fetch):
 * destinations read from the stack's file, the stakeholder's account simulated (its bucket owned by
 * another account, its role behind an external ID on the local STS), POST 202 and polling to done,
 * an idempotent repeat, unauthenticated and bad requests refused by name, a bucket that changed
 * hands and a wrong external ID refused without writing, a scheduled delivery through the
 * dispatcher, the CLI's verify against the running stack, and the run report's deliveries.
 * The delivered rows are compared with an independent computation (test/support/transfer-oracle.ts).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { generateSampleTable } from '../../local/sample-tables';
import { startStack, type Stack } from '../../local/stack';
import { recentRuns } from '../../shared/delivery/runs';
import { readReportData } from '../../shared/ops/report/data';
import type { Manifest } from '../../shared/publish';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import type { Row } from '../../shared/warehouse/port';
import { acme } from '../support/destinations';
import { scratchDir } from '../support/factories';
import { expectedTransfer, sortRows } from '../support/transfer-oracle';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '..', '..');
const OWNER = '111122223333';
const ROLE = 'shopping-patterns-delivery-acme';
const EXTERNAL_ID = 'ext-7c1b2d';
const KEY = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const COLUMNS = ['O_ORDERSTATUS', 'O_TOTALPRICE', 'O_ORDERDATE'];

let scratch: { dir: string; remove: () => void };
let stack: Stack;
let s3: S3Client;

function writeDestinations(list: unknown[]): void {
  fs.writeFileSync(path.join(scratch.dir, 'destinations.json'), JSON.stringify({ destinations: list }));
}

const role = (name = ROLE, externalId = EXTERNAL_ID) => ({
  type: 'assume_role',
  role_arn: `arn:aws:iam::${OWNER}:role/${name}`,
  external_id: externalId,
});

beforeAll(async () => {
  scratch = scratchDir('sp-delivery-');
  // the destinations, read from the stack's file (<LOCAL_DIR>/destinations.json)
  writeDestinations([
    acme({ bucket: 'acme-drop', access: role(), kms_key_arn: KEY, prefix: 'shopping', format: 'csv.gz' }),
    // the bucket now belongs to another account than the one recorded: it changed hands
    acme({ name: 'moved', bucket: 'acme-drop', account_id: '444455556666', access: { type: 'bucket_policy' }, prefix: 'moved' }),
    acme({ name: 'wrong-id', bucket: 'acme-drop', access: role(ROLE, 'not-the-right-one'), prefix: 'wrong' }),
    acme({ name: 'nightly', bucket: 'acme-drop', access: role(), prefix: 'nightly', schedule: { cron: 'cron(* * * * ? *)', source_table: 'ORDERS_100K' } }),
  ]);
  stack = await startStack({
    dir: scratch.dir,
    s3Port: 0,
    sqsPort: 0,
    consume: false,
    schedules: true,
    stakeholders: [{ account_id: OWNER, buckets: ['acme-drop'], roles: [{ name: ROLE, external_id: EXTERNAL_ID }] }],
  });
  s3 = createS3Client(stack.config);
  await generateSampleTable(warehouse(), 'ORDERS_100K', { rows: 3000 });
});

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
  scratch?.remove();
});

async function call(method: string, route: string, opts: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {}) {
  const token = opts.token === undefined ? stack.api.token : opts.token;
  const res = await fetch(`${stack.api.url}${route}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function poll(runId: string): Promise<Record<string, unknown>> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const got = await call('GET', `/transfers/${runId}`);
    expect(got.status).toBe(200);
    if (got.body.status === 'succeeded' || got.body.status === 'failed') return got.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} not done in 60 s`);
}

async function keys(prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: 'acme-drop', Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function object(key: string) {
  const res = await s3.send(new GetObjectCommand({ Bucket: 'acme-drop', Key: key, ExpectedBucketOwner: OWNER }));
  return { bytes: Buffer.from(await res.Body!.transformToByteArray()), sse: res.ServerSideEncryption, key: res.SSEKMSKeyId };
}

describe('POST /transfers and GET /transfers/{run_id}', () => {
  it('answers 202 at once with a run id, and polling reaches succeeded with exactly the result of transfer_data', async () => {
    // Act
    const posted = await call('POST', '/transfers', { body: { source_table: 'ORDERS_100K', destination: 'acme', columns: COLUMNS } });

    // Assess: accepted, not done
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ status: 'queued', destination: 'acme', origin: 'api' });
    const runId = String(posted.body.run_id);
    expect(posted.headers.get('location')).toBe(`/transfers/${runId}`);
    const done = await poll(runId);
    expect(done.status).toBe('succeeded');
    const result = done.result as Record<string, unknown>;
    expect(Object.keys(result).slice(0, 3)).toEqual(['file_name', 'row_count', 'timestamp']);
    expect(result).toMatchObject({ run_id: runId, bucket: 'acme-drop', destination: 'acme', format: 'csv.gz' });
    expect(result.file_name).toBe(`shopping/ORDERS_100K/${runId}/_manifest.json`);

    // the delivered files, read back independently, hold the oracle's rows, under the stakeholder's key
    const manifestObject = await object(String(result.file_name));
    expect([manifestObject.sse, manifestObject.key]).toEqual(['aws:kms', KEY]);
    const manifest = JSON.parse(manifestObject.bytes.toString('utf8')) as Manifest;
    expect(manifest.row_count).toBe(result.row_count);
    const written: Row[] = [];
    for (const part of manifest.parts) {
      const got = await object(part.key);
      expect(got.sse).toBe('aws:kms');
      written.push(...(parse(zlib.gunzipSync(got.bytes), { columns: true }) as Row[]));
    }
    const raw = await warehouse().query('select * from "ORDERS_100K"');
    const expected = expectedTransfer(raw, await warehouse().describeTable({ table: 'ORDERS_100K' }), { columns: COLUMNS });
    // CSV holds text: compare numbers as numbers (the sums are cents in the millions, exact in a double)
    const normal = (rows: Row[]) =>
      rows.map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [k.toUpperCase(), v === null || v === '' ? null : /^-?\d+(\.\d+)?$/.test(String(v)) ? Number(v) : String(v)]),
        ),
      );
    expect(sortRows(normal(written))).toEqual(sortRows(normal(expected)));
    expect(result.row_count).toBe(expected.length);
  });

  it('a repeated POST with the same Idempotency-Key, or the same run_id, is the same run; one output is written', async () => {
    const request = { source_table: 'ORDERS_100K', destination: 'acme', columns: COLUMNS };
    const first = await call('POST', '/transfers', { body: request, headers: { 'Idempotency-Key': 'order-77' } });
    const again = await call('POST', '/transfers', { body: request, headers: { 'Idempotency-Key': 'order-77' } });
    expect(first.status).toBe(202);
    expect(again.body.run_id).toBe(first.body.run_id);
    const done = await poll(String(first.body.run_id));
    const after = await call('POST', '/transfers', { body: request, headers: { 'Idempotency-Key': 'order-77' } });
    expect([after.status, after.body.run_id, after.body.status]).toEqual([200, first.body.run_id, 'succeeded']);
    expect((after.body.result as Record<string, unknown>).file_name).toBe((done.result as Record<string, unknown>).file_name);
    expect((await keys(`shopping/ORDERS_100K/${String(first.body.run_id)}/`)).filter((k) => k.endsWith('_manifest.json'))).toHaveLength(1);

    const byRunId = await call('POST', '/transfers', { body: { ...request, run_id: 'fixed-run-1' } });
    const byRunIdAgain = await call('POST', '/transfers', { body: { ...request, run_id: 'fixed-run-1' } });
    expect([byRunId.body.run_id, byRunIdAgain.body.run_id]).toEqual(['fixed-run-1', 'fixed-run-1']);
    await poll('fixed-run-1');
  });

  it('refuses a request without the token, with a wrong one, or from a web page; unknown routes are 404', async () => {
    expect((await call('GET', '/transfers/x', { token: null })).status).toBe(401);
    expect((await call('POST', '/transfers', { token: 'x'.repeat(43), body: { source_table: 'T', destination: 'acme' } })).status).toBe(401);
    expect((await call('GET', '/transfers/x', { headers: { origin: 'https://example.com' } })).status).toBe(403);
    expect((await call('DELETE', '/transfers/x')).status).toBe(404);
    expect((await call('GET', '/nothing')).status).toBe(404);
    expect((await call('GET', '/transfers/never-asked')).status).toBe(404);
  });

  it('names what is wrong with a bad request, and refuses a run id taken by another request', async () => {
    const missing = await call('POST', '/transfers', { body: { destination: 'acme' } });
    expect([missing.status, missing.body.error]).toEqual([400, 'bad_request']);
    expect(missing.body.message).toMatch(/source_table/);
    const unknown = await call('POST', '/transfers', { body: { source_table: 'ORDERS_100K', destination: 'nobody' } });
    expect([unknown.status, unknown.body.message]).toEqual([400, expect.stringMatching(/no destination named nobody/)]);
    const typo = await call('POST', '/transfers', { body: { source_table: 'ORDERS_100K', destination: 'acme', date_colum: 'X' } });
    expect([typo.status, typo.body.message]).toEqual([400, expect.stringMatching(/Unrecognized key: "date_colum"/)]);
    const notJson = await call('POST', '/transfers', { body: '{"source_table":' });
    expect([notJson.status, notJson.body.message]).toEqual([400, 'the body is not JSON']);
    const textPlain = await call('POST', '/transfers', { body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(textPlain.status).toBe(415);

    await call('POST', '/transfers', { body: { source_table: 'ORDERS_100K', destination: 'acme', run_id: 'taken-1', columns: COLUMNS } });
    const reused = await call('POST', '/transfers', { body: { source_table: 'ORDERS_100K', destination: 'acme', run_id: 'taken-1' } });
    expect([reused.status, reused.body.error]).toEqual([409, 'conflict']);
    await poll('taken-1');
  });

  it('a bucket that changed hands, or a wrong external ID, fails the run with the reason, and nothing is written', async () => {
    const moved = await call('POST', '/transfers', { body: { source_table: 'ORDERS_100K', destination: 'moved' } });
    expect(moved.status).toBe(202);
    const movedDone = await poll(String(moved.body.run_id));
    expect(movedDone).toMatchObject({ status: 'failed', error: expect.stringMatching(/not owned by account 444455556666 \(ExpectedBucketOwner\)/) });
    const wrong = await call('POST', '/transfers', { body: { source_table: 'ORDERS_100K', destination: 'wrong-id' } });
    const wrongDone = await poll(String(wrong.body.run_id));
    expect(wrongDone).toMatchObject({ status: 'failed', error: expect.stringMatching(/cannot assume .*shopping-patterns-delivery-acme with the destination's external ID \(AccessDenied/) });
    expect(await keys('moved/')).toEqual([]);
    expect(await keys('wrong/')).toEqual([]);
    // the local STS saw the wrong ID presented, and refused it
    expect(stack.sts.calls.filter((c) => c.externalId === 'not-the-right-one').map((c) => c.ok)).toContain(false);
  });

  it('a destination added to the file while the stack runs is used by the next request (no restart, no deploy)', async () => {
    const current = JSON.parse(fs.readFileSync(path.join(scratch.dir, 'destinations.json'), 'utf8')) as { destinations: unknown[] };
    writeDestinations([...current.destinations, acme({ name: 'late', bucket: 'acme-drop', access: role(), prefix: 'late' })]);
    const posted = await call('POST', '/transfers', { body: { source_table: 'ORDERS_100K', destination: 'late', columns: COLUMNS } });
    expect(posted.status).toBe(202);
    expect((await poll(String(posted.body.run_id))).status).toBe('succeeded');
    expect((await keys('late/ORDERS_100K/')).some((k) => k.endsWith('_manifest.json'))).toBe(true);
  });
});

describe('recurring deliveries', () => {
  it('the dispatcher starts the slot of a scheduled destination once, recorded as a request is', async () => {
    // Act: the stack's schedule for the transfer function (the dispatcher rule of serverless.yml)
    await stack.runSchedule('transfer');
    await stack.waitForTransfers();
    await stack.runSchedule('transfer');
    await stack.waitForTransfers();

    // Assess: one run per slot (a minute apart at most: the cron fires every minute)
    const runs = (await recentRuns(warehouse())).filter((r) => r.destination === 'nightly');
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(new Set(runs.map((r) => r.run_id)).size).toBe(runs.length);
    for (const r of runs) expect(r.run_id).toMatch(/^sched-nightly-\d{8}T\d{4}Z$/);
    const latest = await poll(runs[0]!.run_id);
    expect(latest).toMatchObject({ status: 'succeeded', origin: 'schedule', source_table: 'ORDERS_100K', destination: 'nightly' });
    expect((latest.result as Record<string, unknown>).file_name).toBe(`nightly/ORDERS_100K/${runs[0]!.run_id}/_manifest.json`);
  });
});

describe('operators', () => {
  it('npm run destination -- verify checks a destination against the running stack, and says what is missing', async () => {
    const verify = (name: string) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'local/cli/destination.ts'), 'verify', name],
          { cwd: ROOT, env: { ...process.env, LOCAL_DIR: scratch.dir, STAGE: 'local', LOG_LEVEL: 'error' } },
          (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
        );
      });
    const good = await verify('acme');
    expect(good.stdout).toMatch(/PASS\s+assume role/);
    expect(good.stdout).toMatch(/PASS\s+refused without the external ID/);
    expect(good.stdout).toMatch(/PASS\s+encryption\s+SSE-KMS with/);
    expect(good.stdout).toMatch(/destination acme is ready/);
    expect(good.code).toBe(0);
    const bad = await verify('wrong-id');
    expect(bad.stdout).toMatch(/FAIL\s+assume role/);
    expect(bad.stdout).toMatch(/fix: in account 111122223333, create .* with the trust policy of `npm run destination -- policy wrong-id`/);
    expect(bad.code).toBe(1);
    expect(await keys('shopping/_verify/')).toEqual([]);
  });

  it("the run report shows each destination's last deliveries", async () => {
    const data = await readReportData(warehouse(), { stage: 'local' });
    const byName = new Map((data.deliveries ?? []).map((d) => [d.destination, d]));
    expect(byName.get('acme')?.runs.length).toBeGreaterThanOrEqual(2);
    expect(byName.get('acme')!.runs.length).toBeLessThanOrEqual(5);
    expect(byName.get('acme')!.runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(byName.get('moved')?.runs[0]).toMatchObject({ status: 'failed' });
    expect(byName.get('nightly')?.runs[0]).toMatchObject({ origin: 'schedule' });
  });
});
