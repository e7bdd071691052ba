/**
 * `npm run redrive -- --stage dev` as the runbook runs it from an operator's machine: SQS access and
 * nothing else (no Snowflake key, no secret). The queues are a real SQS API on loopback named as the
 * dev stack names them; the SDK reaches them through AWS_ENDPOINT_URL_SQS, as it would any endpoint.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { startLocalQueues, type LocalQueues } from '../../local/stack/queue';
import { s3NotificationBody, s3Record } from '../support/events';
import { depth, waitFor } from '../support/ops';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
let queues: LocalQueues;

function redrive(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ENDPOINT_URL_SQS: queues.endpoint,
      LOG_LEVEL: 'warn',
    };
    // an operator's shell: no Snowflake settings at all
    for (const name of Object.keys(env))
      if (name.startsWith('SNOWFLAKE_') && name !== 'SNOWFLAKE_DISABLE_PLATFORM_DETECTION') delete env[name];
    for (const name of [
      'STAGE',
      'LANDING_BUCKET',
      'EXPORTS_BUCKET',
      'INGEST_QUEUE_URL',
      'INGEST_DLQ_URL',
      'S3_ENDPOINT',
    ])
      delete env[name];
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'local/cli/redrive.ts'), ...args],
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
  queues = await startLocalQueues({
    port: 0,
    region: 'eu-west-2',
    queueName: 'shopping-patterns-dev-ingest',
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 5,
  });
  for (const key of ['transactions/d=2018-09-01/a.json', 'transactions/d=2018-09-02/b.json']) {
    await queues.client.send(
      new SendMessageCommand({
        QueueUrl: queues.dlqUrl,
        MessageBody: s3NotificationBody([s3Record({ key, bucket: 'shopping-patterns-dev-landing' })]),
      }),
    );
  }
});

afterAll(async () => {
  await queues?.close();
});

describe('redrive on an AWS stage without Snowflake', () => {
  it('peeks: lists the messages and their files, and says the ledger was not read', async () => {
    // Act
    const run = await redrive(['--stage', 'dev', '--peek']);

    // Assess
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/messages in the DLQ: 2/);
    expect(run.stdout).toContain('transactions/d=2018-09-01/a.json@');
    expect(run.stderr).toMatch(/file ledger could not be read \(no Snowflake key/);
    expect(await depth(queues.client, queues.dlqUrl)).toBe(2);
  });

  it('moves the messages back to the ingest queue', async () => {
    // Act
    const run = await redrive(['--stage', 'dev', '--timeout', '60']);

    // Assess
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/redriven: 2 message\(s\)/);
    await waitFor(
      'the messages on the ingest queue',
      async () => (await depth(queues.client, queues.queueUrl)) === 2,
    );
    expect(await depth(queues.client, queues.dlqUrl)).toBe(0);
  });
});
