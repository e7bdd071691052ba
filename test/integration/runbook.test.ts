/**
 * The runbook rehearsal: every `sh` block of docs/DEPLOY.md, read from the document itself, run by bash
 * in the order written, in one shell (the runbook's steps use what earlier steps export), with `set -e`.
 *
 * What answers instead of AWS and Snowflake, on loopback only:
 *   aws        test/support/runbook/aws.js, first on PATH: checks each call's arguments, answers the
 *              stack outputs (names of the loopback buckets and queues below)
 *   S3         a real S3 API (s3rver) with the dev stack's bucket names (S3_ENDPOINT)
 *   SQS        a real SQS API with the dev stack's queue names (AWS_ENDPOINT_URL_SQS)
 *   Snowflake  the fake of its REST API with the runbook's account and administrator, who holds only
 *              the roles an ACCOUNTADMIN has (and those the admin script grants to SYSADMIN)
 * A command that cannot run offline ends in `# rehearsal: <command>` in the document and that command
 * runs in its place (leading VAR=value assignments kept), or `# rehearsal: skip (<why>)`.
 *
 * Afterwards the stand-ins are asked what happened, independently of the commands' own output.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startLocalQueues, type LocalQueues } from '../../local/stack/queue';
import { startLocalS3, type LocalS3 } from '../../local/stack/s3';
import { stripComments } from '../../shared/warehouse/split-statements';
import { FakeSnowflake } from '../support/fake-snowflake';
import { generateKeyPair } from '../support/fake-snowflake/keys';
import { scratchDir } from '../support/factories';
import { listFiles } from '../support/landing';

jest.setTimeout(600_000);

const ROOT = path.resolve(__dirname, '../..');
const DOC = path.join(ROOT, 'docs/DEPLOY.md');
const ACCOUNT = '123456789012';
const BUCKETS = `shopping-patterns-dev-${ACCOUNT}-eu-west-2`;

/** The `sh` blocks of the document, in order (indented ones too), dedented. */
export function shBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^( *)```sh\n([\s\S]*?)^ *```/gm)].map(([, indent, body]) =>
    body!
      .split('\n')
      .map((l) => (l.startsWith(indent!) ? l.slice(indent!.length) : l))
      .join('\n'),
  );
}

/**
 * A block with each `# rehearsal:` command put in place of the command it ends (a command may span
 * lines joined by a trailing backslash; its leading VAR=value assignments are kept).
 */
export function rehearse(block: string): string {
  const logical: string[] = [];
  let current = '';
  for (const line of block.split('\n')) {
    current += (current ? '\n' : '') + line;
    if (line.endsWith('\\')) continue;
    logical.push(current);
    current = '';
  }
  if (current) logical.push(current);
  return logical
    .map((cmd) => {
      const m = /\s#\s*rehearsal:\s*(.+)$/.exec(cmd);
      if (!m) return cmd;
      const standIn = m[1]!.trim();
      if (/^skip\b/.test(standIn)) {
        if (!/^skip \(.+\)$/.test(standIn)) throw new Error(`a skipped runbook command must say why: ${cmd}`);
        return `: skipped by the rehearsal`;
      }
      const env = /^((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)/.exec(cmd.replace(/\\\n\s*/g, ' '))?.[1] ?? '';
      return `${env}${standIn}`;
    })
    .join('\n');
}

let scratch: ReturnType<typeof scratchDir>;
let s3: LocalS3;
let queues: LocalQueues;
let fake: FakeSnowflake;
let work: string;

beforeAll(async () => {
  scratch = scratchDir('sp-runbook-');
  work = path.join(scratch.dir, 'repo');
  fs.mkdirSync(work);
  // the repository as an operator has it: its files (linked), and a working directory of its own for
  // what the runbook writes (keys, .serverless/, .local/)
  for (const entry of fs.readdirSync(ROOT)) {
    if (['.git', '.local', '.serverless', '.esbuild', 'docs'].includes(entry)) continue;
    // osls wants its service file as a file, not a link
    if (entry === 'serverless.yml' || entry === 'package.json')
      fs.copyFileSync(path.join(ROOT, entry), path.join(work, entry));
    else fs.symlinkSync(path.join(ROOT, entry), path.join(work, entry));
  }
  s3 = await startLocalS3({
    port: 0,
    dir: path.join(scratch.dir, 's3'),
    buckets: [`${BUCKETS}-landing`, `${BUCKETS}-exports`, `${BUCKETS}-access-logs`],
  });
  queues = await startLocalQueues({
    port: 0,
    region: 'eu-west-2',
    queueName: 'shopping-patterns-dev-ingest',
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 5,
  });
});

afterAll(async () => {
  await fake?.close();
  await queues?.close();
  await s3?.close();
  scratch?.remove();
});

describe('docs/DEPLOY.md rehearsal', () => {
  it('marks every command that cannot run offline, with a reason for every skip', () => {
    const blocks = shBlocks(fs.readFileSync(DOC, 'utf8'));
    expect(blocks.length).toBeGreaterThan(8);
    for (const block of blocks) {
      const script = rehearse(block);
      // nothing left that would reach the deployed stack
      expect(script).not.toMatch(/^\s*(?:[A-Z_]+=\S+\s+)*npx sls (deploy|invoke|logs|remove|info)\b/m);
    }
  });

  it('runs every command in the order written', async () => {
    // Prepare: the stand-ins' answers and the administrator's key (the runbook's $HOME/.ssh/...)
    const home = path.join(scratch.dir, 'home');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
    const admin = generateKeyPair();
    fs.writeFileSync(path.join(home, '.ssh/snowflake_admin.p8'), admin.privateKey, { mode: 0o600 });
    fake = await FakeSnowflake.start({
      account: 'MYORG-MYACCOUNT',
      user: 'ADMIN_USER',
      publicKeys: [admin.publicKey],
      // an ACCOUNTADMIN's roles, and the pipeline roles the admin script grants to SYSADMIN
      roles: [
        'ACCOUNTADMIN',
        'SECURITYADMIN',
        'USERADMIN',
        'SYSADMIN',
        'PUBLIC',
        'SHOPPING_PATTERNS_LOADER',
        'SHOPPING_PATTERNS_TRANSFORMER',
        'SHOPPING_PATTERNS_DEPLOYER',
        'SHOPPING_PATTERNS_READER',
        'SHOPPING_PATTERNS_PARTNER',
      ],
    });
    const bin = path.join(scratch.dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(path.join(ROOT, 'test/support/runbook/aws.js'), path.join(bin, 'aws'));
    const dlqArn = `arn:aws:sqs:eu-west-2:${ACCOUNT}:shopping-patterns-dev-ingest-dlq`;
    const outputsFile = path.join(scratch.dir, 'outputs.json');
    fs.writeFileSync(
      outputsFile,
      JSON.stringify({
        stackName: 'shopping-patterns-dev',
        outputs: {
          LandingBucketName: `${BUCKETS}-landing`,
          ExportsBucketName: `${BUCKETS}-exports`,
          AccessLogsBucketName: `${BUCKETS}-access-logs`,
          SnowflakeIntegrationRoleArn: `arn:aws:iam::${ACCOUNT}:role/shopping-patterns-dev-eu-west-2-snowflake-s3`,
          AlarmTopicArn: `arn:aws:sns:eu-west-2:${ACCOUNT}:shopping-patterns-dev-alarms`,
          IngestDeadLetterQueueArn: dlqArn,
        },
      }),
    );
    const awsLog = path.join(scratch.dir, 'aws.jsonl');
    const secrets = path.join(scratch.dir, 'secrets.jsonl');
    const blocks = shBlocks(fs.readFileSync(DOC, 'utf8'));
    const script = [
      'set -euo pipefail',
      ...blocks.map((b, i) => `echo "@@ runbook block ${i + 1} of ${blocks.length}" >&2\n${rehearse(b)}`),
      'echo "@@ runbook done" >&2',
    ].join('\n');
    const env: NodeJS.ProcessEnv = {
      PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH}`,
      HOME: home,
      // loopback only; the local S3 API accepts only its own credentials
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_EC2_METADATA_DISABLED: 'true',
      SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      S3_ENDPOINT: s3.endpoint,
      AWS_ENDPOINT_URL_SQS: queues.endpoint,
      SNOWFLAKE_ACCESS_URL: fake.url,
      LOCAL_DIR: path.join(work, '.local'),
      LOG_LEVEL: 'warn',
      RUNBOOK_STACK_OUTPUTS: outputsFile,
      RUNBOOK_AWS_LOG: awsLog,
      RUNBOOK_SECRETS: secrets,
      npm_config_update_notifier: 'false',
    };

    // Act
    const run = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });

    // Assess: every block ran and the shell ended well
    expect(`${run.out.slice(-4000)}`).toMatch(/@@ runbook done/);
    expect(run.code).toBe(0);

    // four secrets, one per function, each with its own key
    const stored = fs
      .readFileSync(secrets, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; value: { privateKey: string } });
    expect(stored.map((s) => s.name)).toEqual(
      ['ingest', 'rebuild', 'transfer', 'migrate'].map((f) => `shopping-patterns/dev/snowflake/${f}`),
    );
    expect(new Set(stored.map((s) => s.value.privateKey)).size).toBe(4);
    // the admin setup ran against Snowflake as the administrator and created a user per function
    expect(fake.logins.length).toBeGreaterThan(0);
    expect(fake.logins.every((l) => l.ok && l.user === 'ADMIN_USER')).toBe(true);
    for (const fn of ['INGEST', 'REBUILD', 'TRANSFER', 'MIGRATE'])
      expect([
        fn,
        fake
          .sql()
          .some((s) =>
            new RegExp(`^\\s*create user if not exists SHOPPING_PATTERNS_${fn}\\b`, 'i').test(
              stripComments(s),
            ),
          ),
      ]).toEqual([fn, true]);
    // the upload put the generated sample into the landing bucket under the runbook's exported name
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'eu-west-2',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: `${BUCKETS}-landing` }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(
        listFiles(path.join(work, '.local/sample')).sort(),
      );
    } finally {
      client.destroy();
    }
    // the AWS CLI calls were the runbook's, with the exported values
    const calls = fs
      .readFileSync(awsLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { service: string; op: string; opts: Record<string, string> });
    expect(calls).toContainEqual(
      expect.objectContaining({
        service: 'sqs',
        op: 'start-message-move-task',
        opts: expect.objectContaining({ 'source-arn': dlqArn }),
      }),
    );
    expect(calls).toContainEqual(
      expect.objectContaining({
        service: 's3api',
        op: 'list-object-versions',
        opts: expect.objectContaining({ bucket: `${BUCKETS}-landing` }),
      }),
    );
  });
});
