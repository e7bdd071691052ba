/**
 * The smoke test's AWS path (Lambda Invoke, mocked with aws-sdk-client-mock) and its step logic.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { lambdaInvoker, runSmoke, smokeLambdaClient, type SmokeDeps } from '../../shared/ops/smoke';
import type { Warehouse } from '../../shared/warehouse/port';

describe('smoke: Lambda invoke', () => {
  const lambda = mockClient(LambdaClient);
  beforeEach(() => lambda.reset());

  it('invokes the stage function synchronously with the JSON payload and returns its result', async () => {
    // Prepare
    lambda
      .on(InvokeCommand)
      .resolves({
        StatusCode: 200,
        Payload: Buffer.from('{"status":"published","manifest_key":"m"}') as never,
      });

    // Act
    const result = await lambdaInvoker(new LambdaClient({ region: 'eu-west-2' }), 'dev')('rebuild', { a: 1 });

    // Assess
    expect(result).toEqual({ status: 'published', manifest_key: 'm' });
    const [call] = lambda.commandCalls(InvokeCommand);
    expect(call!.args[0].input).toMatchObject({
      FunctionName: 'shopping-patterns-dev-rebuild',
      InvocationType: 'RequestResponse',
    });
    expect(JSON.parse(Buffer.from(call!.args[0].input.Payload as Uint8Array).toString('utf8'))).toEqual({
      a: 1,
    });
  });

  it("throws the function's error when the invocation failed", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: Buffer.from('{"errorType":"TerminalError","errorMessage":"no such table"}') as never,
    });
    await expect(
      lambdaInvoker(new LambdaClient({ region: 'eu-west-2' }), 'dev')('transfer', {}),
    ).rejects.toThrow(/transfer failed \(Unhandled\): TerminalError: no such table/);
  });

  it('never retries an Invoke (a retried Invoke is a second run)', async () => {
    expect(await smokeLambdaClient('eu-west-2').config.maxAttempts()).toBe(1);
  });
});

describe('smoke: steps', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());

  function deps(ledger: Array<Record<string, unknown>[]>, invoke: SmokeDeps['invoke']): SmokeDeps {
    let n = 0;
    const wh = { query: async () => ledger[Math.min(n++, ledger.length - 1)] } as unknown as Warehouse;
    return {
      s3: new S3Client({ region: 'eu-west-2' }),
      wh,
      landingBucket: 'landing-b',
      exportsBucket: 'exports-b',
      routes: [],
      versioned: true,
      invoke,
      now: () => new Date('2026-03-02T10:00:00Z'),
      sleep: async () => undefined,
      ledgerTimeoutMs: 60_000,
    };
  }

  it('uploads one valid transactions line under a routed key and stops at a failed ledger row, invoking nothing', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    const invoke = jest.fn();
    const failed = {
      bucket: 'landing-b',
      key: 'k',
      version: 'v',
      dataset: 'transactions',
      status: 'failed',
      rows_loaded: 0,
      rows_quarantined: 0,
      first_error: 'AccessDenied',
      loaded_at: null,
    };

    // Act
    const steps = await runSmoke(deps([[], [failed]], invoke));

    // Assess
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put.Bucket).toBe('landing-b');
    expect(put.Key).toMatch(/^transactions\/d=2026-03-02\/smoke-\d+\.json$/);
    const line = JSON.parse(String(put.Body)) as {
      customer_id: string;
      basket: unknown[];
      date_of_purchase: string;
    };
    expect(line).toEqual({
      customer_id: 'SMOKE-TEST',
      basket: [{ product_id: 'SMOKE-P1', price: 1 }],
      date_of_purchase: '2026-03-02 10:00:00',
    });
    expect(steps.map((s) => [s.step, s.ok])).toEqual([
      ['upload', true],
      ['ledger', false],
    ]);
    expect(steps[1]!.detail).toContain('AccessDenied');
    expect(invoke).not.toHaveBeenCalled();
  });

  it('fails the upload step with the reason when the bucket refuses it', async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const steps = await runSmoke(deps([[]], jest.fn()));
    expect(steps).toEqual([
      expect.objectContaining({
        step: 'upload',
        ok: false,
        detail: expect.stringContaining('Access Denied'),
      }),
    ]);
  });
});
