/**
 * `npm run smoke -- --stage local` against a local stack this test starts on free ports: the same steps
 * as on AWS (upload, ledger, reconcile, rebuild, transfer), checked here against what the stack holds
 * afterwards, not against the command's own output alone. And on dev without the stack's outputs it says
 * what is missing.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { generateSampleData } from '../../local/generator';
import { startStack, type Stack } from '../../local/stack';
import { runSmoke, type SmokeDeps } from '../../shared/ops/smoke';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { scratchDir } from '../support/factories';
import { putTree } from '../support/landing';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '../..');
let scratch: ReturnType<typeof scratchDir>;
let stack: Stack;
let s3: S3Client;
let stackDir: string;

function smoke(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'local/cli/smoke.ts'), ...args],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  scratch = scratchDir('sp-smoke-');
  const dataDir = path.join(scratch.dir, 'data');
  stackDir = path.join(scratch.dir, 'stack');
  await generateSampleData({
    outDir: dataDir,
    months: 1,
    customers: 20,
    seed: 11,
    end: new Date().toISOString().slice(0, 10),
  });
  stack = await startStack({
    dir: stackDir,
    s3Port: 0,
    sqsPort: 0,
    visibilityTimeoutSeconds: 5,
    batchWindowMs: 100,
  });
  s3 = createS3Client(stack.config);
  await putTree(s3, dataDir);
  await stack.waitForIdle({ timeoutMs: 120_000 });
});

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
  scratch?.remove();
});

describe('npm run smoke', () => {
  it('passes every step against the local stack, and the stack holds what each step claims', async () => {
    // Act
    const run = await smoke(['--stage', 'local', '--timeout', '120'], {
      ...process.env,
      STAGE: 'local',
      LOCAL_DIR: stackDir,
      LOG_LEVEL: 'warn',
    });

    // Assess: the lines
    expect(`${run.stdout}\n${run.stderr.slice(-1500)}`).toMatch(/smoke test passed/);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'PASS upload',
      'PASS ledger',
      'PASS reconcile',
      'PASS rebuild',
      'PASS transfer',
    ]);
    // Assess: the stack, independently
    const key = /s3:\/\/landing\/(\S+)/.exec(run.stdout)?.[1];
    expect(key).toMatch(/^transactions\/d=\d{4}-\d{2}-\d{2}\/smoke-\d+\.json$/);
    const ledger = await warehouse().query<{ status: string; rows_loaded: number }>(
      `select status, rows_loaded from raw.file_ledger where bucket = 'landing' and key = ?`,
      [key!],
    );
    expect(ledger.map((r) => [r.status, Number(r.rows_loaded)])).toEqual([['loaded', 1]]);
    const rows = await warehouse().query<{ n: number }>(
      `select count(*) as n from raw.transactions where customer_id = 'SMOKE-TEST'`,
    );
    expect(Number(rows[0]!.n)).toBe(1);
    const manifest = /manifest (\S+)$/m.exec(lines[4]!)?.[1];
    const body = await s3.send(new GetObjectCommand({ Bucket: 'exports', Key: manifest! }));
    expect(JSON.parse(await body.Body!.transformToString())).toBeTruthy();
    const exports = await s3.send(
      new ListObjectsV2Command({ Bucket: 'exports', Prefix: 'customer_product_purchases/' }),
    );
    expect((exports.Contents ?? []).some((o) => o.Key!.endsWith('_manifest.json'))).toBe(true);
  });

  it('on an AWS stage without the stack outputs, says what is missing and exits 2', async () => {
    // Prepare: an operator's shell with nothing exported
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ['STAGE', 'LANDING_BUCKET', 'EXPORTS_BUCKET', 'LOCAL_DIR', 'S3_ENDPOINT'])
      delete env[name];

    // Act
    const run = await smoke(['--stage', 'dev'], env);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /LANDING_BUCKET and EXPORTS_BUCKET not set: export them from the stack outputs/,
    );
  });
});

describe('smoke on a deployed stage: the unload step', () => {
  it('transfers a second time in mode "unload", after the stream transfer passed, and reports it as its own step', async () => {
    // Prepare: the local stack's handlers, with the payloads recorded
    const payloads: Array<{ fn: string; payload: Record<string, unknown> }> = [];
    const invoke: SmokeDeps['invoke'] = async (fn, payload) => {
      payloads.push({ fn, payload });
      const handler =
        fn === 'rebuild' ? (await import('../../functions/rebuild')).rebuildHandler : (await import('../../functions/transfer')).transferHandler;
      return (await handler(payload as never)) as unknown as Record<string, unknown>;
    };

    // Act
    const steps = await runSmoke({
      s3,
      wh: warehouse(),
      landingBucket: 'landing',
      exportsBucket: 'exports',
      routes: stack.config.routes,
      versioned: false,
      invoke,
      unload: true,
      ledgerTimeoutMs: 120_000,
    });

    // Assess: the stream steps pass; the unload is asked for, and DuckDB refuses it by name
    expect(steps.map((s) => [s.step, s.ok])).toEqual([
      ['upload', true],
      ['ledger', true],
      ['reconcile', true],
      ['rebuild', true],
      ['transfer', true],
      ['transfer (unload)', false],
    ]);
    expect(payloads.filter((p) => p.fn === 'transfer').map((p) => p.payload.mode)).toEqual([undefined, 'unload']);
    expect(steps[5]!.detail).toMatch(/mode "unload" needs the Snowflake warehouse/);
  });
});
