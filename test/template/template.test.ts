/**
 * The CloudFormation template of `sls package --stage dev`, packaged offline by this test into temporary
 * directories (never stale output), checked against the deploy requirements: hardened buckets, the notification without
 * a cycle, queue and DLQ, alarms, least-privilege roles, the Snowflake integration role, environment
 * values that resolve offline, the zips, the dependency graph and the Guard scan.
 *
 * Expectations are written here from docs/DEPLOY.md and AWS's rules, never read back from the template.
 * Two packagings: the defaults, and every optional parameter set (KMS, alarm topic, Snowflake identity,
 * secrets by ARN, other prefixes and buckets, other batching).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { dependencyGraph, findCycles } from '../../.ci/lib/cfn-graph';
import { loadConfig } from '../../shared/config';
import { transferRoleName } from '../../shared/delivery/policies';
import { createLogger, setLogSink } from '../../shared/logger';
import { applySuppressions, formatReport, scan } from '../../.ci/lib/guard';
import {
  packageService,
  printService,
  type CfnResource,
  type CfnTemplate,
  type PackageResult,
} from '../../.ci/lib/sls-package';

jest.setTimeout(300_000);

const SERVICE = 'shopping-patterns';
const STAGE = 'dev';
const PREFIX = `${SERVICE}-${STAGE}`;
/** Default bucket names carry the account and region (unique across both); `str()` deploys in 123456789012, eu-west-2. */
const BUCKETS = `${PREFIX}-123456789012-eu-west-2`;
const FUNCTIONS = ['ingest', 'rebuild', 'transfer', 'api', 'migrate'] as const;
/** The functions that log in to the warehouse (the API function holds no data access: it invokes transfer). */
const WAREHOUSE_FUNCTIONS = ['ingest', 'rebuild', 'transfer', 'migrate'] as const;
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const CUSTOM = {
  kmsKeyArn: 'arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555',
  alarmTopicArn: 'arn:aws:sns:eu-west-2:123456789012:oncall',
  snowflakeIamUserArn: 'arn:aws:iam::999999999999:user/abc1-s-v2st0000',
  snowflakeExternalId: 'AB12345_SFCRole=2_abcdefghijklmnopqrstuvwxyz0=',
  ingestSecretArn: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:sp/dev/ingest-AbCdEf',
  rebuildSecretArn: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:sp/dev/rebuild-BcDeFg',
  transferSecretArn: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:sp/dev/transfer-CdEfGh',
  migrateSecretArn: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:sp/dev/migrate-MnOpQr',
  exportSaltSecretArn: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:sp/dev/salt-GhIjKl',
  routedPrefixes: 'starter/,incoming/transactions/',
  transferBuckets: 'partner-drop-one,partner-drop-two',
  ingestBatchSize: '25',
  ingestBatchingWindow: '20',
  ingestMaxConcurrency: '3',
  snowflakeAccount: 'xy12345.eu-west-2.aws',
};

let base: PackageResult;
let custom: PackageResult;

beforeAll(async () => {
  // one after the other: each bundles the four functions
  base = await packageService({ stage: STAGE });
  custom = await packageService({ stage: STAGE, params: CUSTOM });
});

afterAll(() => {
  for (const result of [base, custom]) if (result) fs.rmSync(result.outDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------- helpers

/** Template JSON, read loosely: the assertions below are the type check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const resources = (t: CfnTemplate, type: string) =>
  Object.entries(t.Resources).filter(([, r]) => r.Type === type) as Array<[string, CfnResource]>;
const props = (t: CfnTemplate, id: string) => {
  const resource = t.Resources[id];
  if (!resource) throw new Error(`no resource ${id} in the template`);
  return (resource.Properties ?? {}) as Json;
};

/**
 * A readable string for an intrinsic value, with pseudo parameters filled in as a deploy in account
 * 123456789012, eu-west-2 would: Fn::Sub strings resolve, GetAtt X.Arn reads "arn-of:X", Ref X "ref:X".
 */
function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v['Fn::Sub'] === 'string') {
      return (v['Fn::Sub'] as string).replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
        const pseudo: Record<string, string> = {
          'AWS::Partition': 'aws',
          'AWS::Region': 'eu-west-2',
          'AWS::AccountId': '123456789012',
        };
        return pseudo[name] ?? `ref:${name}`;
      });
    }
    if (Array.isArray(v['Fn::GetAtt']))
      return `${(v['Fn::GetAtt'] as string[]).join('.').replace(/\.Arn$/, '')}`.replace(/^/, 'arn-of:');
    if (typeof v.Ref === 'string') return `ref:${v.Ref}`;
    if (Array.isArray(v['Fn::Join'])) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(str).join(sep);
    }
  }
  return JSON.stringify(value);
}
const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of a role's inline policies; an Fn::If statement counts with its true branch. */
function roleStatements(t: CfnTemplate, roleId: string): { always: Statement[]; whenKms: Statement[] } {
  const always: Statement[] = [];
  const whenKms: Statement[] = [];
  for (const policy of props(t, roleId).Policies as Array<{ PolicyDocument: { Statement: unknown[] } }>) {
    for (const s of policy.PolicyDocument.Statement) {
      const cond = (s as Record<string, unknown>)['Fn::If'] as [string, Statement, unknown] | undefined;
      if (cond) {
        expect(cond[0]).toBe('UseKms');
        expect(cond[2]).toEqual({ Ref: 'AWS::NoValue' });
        whenKms.push(cond[1]);
      } else always.push(s as Statement);
    }
  }
  return { always, whenKms };
}
const actionsOf = (statements: Statement[]) => new Set(statements.flatMap((s) => list(s.Action)));
const resourcesFor = (statements: Statement[], action: string) =>
  statements
    .filter((s) => list(s.Action).includes(action))
    .flatMap((s) => list(s.Resource).map(str))
    .sort();

/** Evaluate a condition made of Fn::Equals / Fn::Not / Fn::And / Fn::Or on literal values. */
function evalCondition(t: CfnTemplate, name: string): boolean {
  const evaluate = (node: unknown): boolean => {
    const n = node as Record<string, unknown[]>;
    if (n['Fn::Equals']) return n['Fn::Equals'][0] === n['Fn::Equals'][1];
    if (n['Fn::Not']) return !evaluate(n['Fn::Not'][0]);
    if (n['Fn::And']) return n['Fn::And'].every(evaluate);
    if (n['Fn::Or']) return n['Fn::Or'].some(evaluate);
    if (typeof (node as { Condition?: string }).Condition === 'string')
      return evalCondition(t, (node as { Condition: string }).Condition);
    throw new Error(`cannot evaluate ${JSON.stringify(node)}`);
  };
  return evaluate(t.Conditions?.[name]);
}

/**
 * The subset of CloudWatch Logs JSON filter patterns the template uses, evaluated on a parsed line:
 * `{ ($.field = "text") || ($.other = "prefix*") }`. Anything else is refused, so a new pattern shape
 * cannot pass untested. https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
function jsonFilterMatches(pattern: string, event: Record<string, unknown>): boolean {
  const term = String.raw`\(\s*\$\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"*]*)(\*?)"\s*\)`;
  const whole = new RegExp(String.raw`^\{\s*${term}(\s*\|\|\s*${term})*\s*\}$`);
  if (!whole.test(pattern)) throw new Error(`unsupported filter pattern ${pattern}`);
  return [...pattern.matchAll(new RegExp(term, 'g'))].some(([, field, text, star]) => {
    const value = event[field!];
    return typeof value === 'string' && (star ? value.startsWith(text!) : value === text);
  });
}

/** File names in a zip, from its central directory (no dependency needed for that). */
function zipEntries(file: string): string[] {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i -= 1) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i += 1) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const nameLength = buf.readUInt16LE(at + 28);
    const extra = buf.readUInt16LE(at + 30);
    const comment = buf.readUInt16LE(at + 32);
    names.push(buf.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extra + comment;
  }
  return names;
}

// ---------------------------------------------------------------------------------------------- buckets

describe('buckets', () => {
  const buckets = {
    LandingBucket: `${BUCKETS}-landing`,
    ExportsBucket: `${BUCKETS}-exports`,
    AccessLogsBucket: `${BUCKETS}-access-logs`,
    ServerlessDeploymentBucket: undefined,
  };

  it('are exactly the three data buckets and osls deployment bucket, with the derived names', () => {
    const names = Object.fromEntries(
      resources(base.template, 'AWS::S3::Bucket').map(([id, r]) => [
        id,
        r.Properties?.BucketName === undefined ? undefined : str(r.Properties.BucketName),
      ]),
    );
    expect(names).toEqual(buckets);
  });

  it('have default names unique to the account and region, valid in the longest region', () => {
    // Bucket names are global; two accounts (or regions) deploying the same stage must not collide.
    for (const id of ['LandingBucket', 'ExportsBucket', 'AccessLogsBucket']) {
      const name = props(base.template, id).BucketName as { 'Fn::Sub': string };
      expect(name['Fn::Sub']).toContain('${AWS::AccountId}');
      expect(name['Fn::Sub']).toContain('${AWS::Region}');
      const longest = name['Fn::Sub'].replace('${AWS::AccountId}', '123456789012').replace('${AWS::Region}', 'ap-southeast-5');
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
      expect(longest).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
    }
    // IAM role names are per account across regions
    expect((props(base.template, 'SnowflakeIntegrationRole').RoleName as { 'Fn::Sub': string })['Fn::Sub']).toContain('${AWS::Region}');
  });

  it.each(Object.keys(buckets))('%s blocks public access, disables ACLs and keeps versions', (id) => {
    const p = props(base.template, id);
    expect(p.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(p.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(p.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  it.each(Object.keys(buckets))(
    '%s aborts incomplete multipart uploads and expires noncurrent versions',
    (id) => {
      const rules = (props(base.template, id).LifecycleConfiguration?.Rules ?? []) as Array<Json>;
      const enabled = rules.filter((r) => r.Status === 'Enabled');
      expect(enabled.some((r) => r.AbortIncompleteMultipartUpload?.DaysAfterInitiation > 0)).toBe(true);
      expect(enabled.some((r) => r.NoncurrentVersionExpiration?.NoncurrentDays > 0)).toBe(true);
    },
  );

  it.each(['LandingBucket', 'ExportsBucket', 'ServerlessDeploymentBucket'])(
    '%s logs server access to the access-logs bucket under its own prefix',
    (id) => {
      const logging = props(base.template, id).LoggingConfiguration;
      expect(logging.DestinationBucketName).toEqual({ Ref: 'AccessLogsBucket' });
      expect(logging.LogFilePrefix).toMatch(/^[a-z]+\/$/);
    },
  );

  it('give each source bucket a distinct log prefix', () => {
    const prefixes = ['LandingBucket', 'ExportsBucket', 'ServerlessDeploymentBucket'].map(
      (id) => props(base.template, id).LoggingConfiguration.LogFilePrefix,
    );
    expect(new Set(prefixes).size).toBe(3);
  });

  it.each(['LandingBucket', 'ExportsBucket'])(
    '%s uses SSE-S3 by default and SSE-KMS with a Bucket Key when kmsKeyArn is set',
    (id) => {
      for (const [t, kms] of [
        [base.template, false],
        [custom.template, true],
      ] as const) {
        const [rule] = props(t, id).BucketEncryption.ServerSideEncryptionConfiguration;
        const [condition, whenKms, otherwise] = rule['Fn::If'];
        const applied = evalCondition(t, condition) ? whenKms : otherwise;
        expect(evalCondition(t, condition)).toBe(kms);
        expect(applied).toEqual(
          kms
            ? {
                ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: CUSTOM.kmsKeyArn },
                BucketKeyEnabled: true,
              }
            : { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        );
      }
    },
  );

  it('retains the access-logs bucket (the audit trail) when the stack is removed, except when its creation rolls back', () => {
    // Retain would leave the empty bucket of a failed first deploy behind, and the retry would stop on
    // "already exists". RetainExceptOnCreate is a DeletionPolicy value only; UpdateReplacePolicy keeps
    // Delete | Retain | Snapshot.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
    expect(base.template.Resources.AccessLogsBucket).toMatchObject({
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('keeps SSE-S3 on the access-logs bucket (log delivery does not support SSE-KMS targets)', () => {
    expect(props(custom.template, 'AccessLogsBucket').BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('each have a policy denying every request made without TLS, on the bucket and its objects', () => {
    const policies = resources(base.template, 'AWS::S3::BucketPolicy');
    const covered = new Set<string>();
    for (const [, policy] of policies) {
      const bucket = (policy.Properties!.Bucket as { Ref: string }).Ref;
      const statements = (policy.Properties!.PolicyDocument as { Statement: Statement[] }).Statement;
      const deny = statements.find(
        (s) =>
          s.Effect === 'Deny' &&
          s.Principal === '*' &&
          list(s.Action).some((a) => a === 's3:*') &&
          JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
      );
      expect(deny).toBeDefined();
      expect(list(deny!.Resource).map(str).sort()).toEqual([`arn-of:${bucket}`, `arn-of:${bucket}/*`]);
      covered.add(bucket);
    }
    expect(covered).toEqual(new Set(Object.keys(buckets)));
  });

  it('let only S3 log delivery from this account and these buckets write access logs', () => {
    const statements = (
      props(base.template, 'AccessLogsBucketPolicy').PolicyDocument as { Statement: Statement[] }
    ).Statement;
    const allow = statements.filter((s) => s.Effect === 'Allow');
    expect(allow).toHaveLength(1);
    expect(allow[0]!.Principal).toEqual({ Service: 'logging.s3.amazonaws.com' });
    expect(allow[0]!.Action).toBe('s3:PutObject');
    expect(list(allow[0]!.Condition!.ArnLike!['aws:SourceArn']).map(str).sort()).toEqual(
      [
        `arn:aws:s3:::${BUCKETS}-exports`,
        `arn:aws:s3:::${BUCKETS}-landing`,
        'arn-of:ServerlessDeploymentBucket',
      ].sort(),
    );
    expect(allow[0]!.Condition!.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
  });
});

// ---------------------------------------------------------------------------------------------- notification

describe('landing notification', () => {
  it('sends s3:ObjectCreated:* (multipart completions included) for each routed prefix to the ingest queue', () => {
    for (const [t, prefixes] of [
      [base.template, ['customers.csv', 'products.csv', 'transactions/']],
      [custom.template, CUSTOM.routedPrefixes.split(',')],
    ] as const) {
      const configs = props(t, 'LandingBucket').NotificationConfiguration.QueueConfigurations;
      expect(configs).toEqual(
        prefixes.map((prefix) => ({
          Event: 's3:ObjectCreated:*',
          Queue: { 'Fn::GetAtt': ['IngestQueue', 'Arn'] },
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: prefix }] } },
        })),
      );
    }
  });

  it('waits for the queue policy, which names the bucket by its string ARN and this account', () => {
    expect(list(base.template.Resources.LandingBucket!.DependsOn)).toContain('IngestQueuePolicy');
    const statements = (
      props(base.template, 'IngestQueuePolicy').PolicyDocument as { Statement: Statement[] }
    ).Statement;
    const allow = statements.find((s) => s.Effect === 'Allow')!;
    expect(allow.Principal).toEqual({ Service: 's3.amazonaws.com' });
    expect(allow.Action).toBe('sqs:SendMessage');
    const sourceArn = allow.Condition!.ArnEquals!['aws:SourceArn'];
    expect(JSON.stringify(sourceArn)).not.toMatch(/LandingBucket/); // no Ref, no GetAtt: a string ARN
    expect(str(sourceArn)).toBe(`arn:aws:s3:::${BUCKETS}-landing`);
    expect(allow.Condition!.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(props(base.template, 'IngestQueuePolicy').Queues).toEqual([{ Ref: 'IngestQueue' }]);
  });

  it('publishes the exports bucket events to EventBridge (a consumer can react to a new manifest)', () => {
    expect(props(base.template, 'ExportsBucket').NotificationConfiguration).toEqual({
      EventBridgeConfiguration: { EventBridgeEnabled: true },
    });
  });
});

// ---------------------------------------------------------------------------------------------- queue

describe('queue, dead-letter queue and event source mapping', () => {
  const esm = (t: CfnTemplate) => {
    const found = resources(t, 'AWS::Lambda::EventSourceMapping');
    expect(found).toHaveLength(1);
    return found[0]![1].Properties as Json;
  };

  it('gives the queue a visibility timeout of at least 6x the ingest timeout plus the batching window', () => {
    for (const t of [base.template, custom.template]) {
      const timeout = props(t, 'IngestLambdaFunction').Timeout as number;
      const window = esm(t).MaximumBatchingWindowInSeconds as number;
      expect(props(t, 'IngestQueue').VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout + window);
    }
  });

  it('redrives to the DLQ after 5 receives, keeps DLQ messages longer, and encrypts both queues', () => {
    const queue = props(base.template, 'IngestQueue');
    const dlq = props(base.template, 'IngestDeadLetterQueue');
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['IngestDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(dlq.MessageRetentionPeriod).toBeGreaterThan(queue.MessageRetentionPeriod);
    expect(dlq.MessageRetentionPeriod).toBeLessThanOrEqual(1_209_600); // the SQS maximum, 14 days
    for (const q of [queue, dlq])
      expect(q.SqsManagedSseEnabled === true || typeof q.KmsMasterKeyId === 'string').toBe(true);
  });

  it('lets only the ingest queue use the DLQ, by string ARN', () => {
    expect(props(base.template, 'IngestDeadLetterQueue').RedriveAllowPolicy).toEqual({
      redrivePermission: 'byQueue',
      sourceQueueArns: [
        { 'Fn::Sub': `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${PREFIX}-ingest` },
      ],
    });
    expect(props(base.template, 'IngestQueue').QueueName).toBe(`${PREFIX}-ingest`);
  });

  it('denies non-TLS access to both queues', () => {
    for (const id of ['IngestQueuePolicy', 'IngestDeadLetterQueuePolicy']) {
      const statements = (props(base.template, id).PolicyDocument as { Statement: Statement[] }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('reports batch item failures, with batch size, batching window and concurrency from parameters', () => {
    expect(esm(base.template)).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['IngestQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['IngestLambdaFunction', 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    expect(esm(custom.template)).toMatchObject({
      BatchSize: Number(CUSTOM.ingestBatchSize),
      MaximumBatchingWindowInSeconds: Number(CUSTOM.ingestBatchingWindow),
      ScalingConfig: { MaximumConcurrency: Number(CUSTOM.ingestMaxConcurrency) },
    });
  });
});

// ---------------------------------------------------------------------------------------------- alarms

describe('alarms', () => {
  const alarms = (t: CfnTemplate) =>
    Object.fromEntries(resources(t, 'AWS::CloudWatch::Alarm').map(([id, r]) => [id, r.Properties as Json]));

  it('alarm when the DLQ holds any message', () => {
    const dlq = alarms(base.template).IngestDeadLetterQueueAlarm!;
    expect(dlq).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['IngestDeadLetterQueue', 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarm on ingest (and rebuild) invocation errors', () => {
    const all = alarms(base.template);
    for (const fn of ['ingest', 'rebuild']) {
      const alarm = Object.values(all).find(
        (a) => a.MetricName === 'Errors' && a.Dimensions?.[0]?.Value === `${PREFIX}-${fn}`,
      );
      expect(alarm).toMatchObject({
        Namespace: 'AWS/Lambda',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    expect(props(base.template, 'IngestLambdaFunction').FunctionName).toBe(`${PREFIX}-ingest`);
  });

  it('alarm when the rebuild withholds the export (a log-based metric that matches the line it logs)', () => {
    // Prepare: the message rebuild logs when an error test fails, as the code writes it, and that line
    // as the project logger writes it in Lambda (JSON)
    const source = fs.readFileSync(`${__dirname}/../../shared/rebuild.ts`, 'utf8');
    const message = /log\.error\('(publishing withheld[^']*)'/.exec(source)?.[1];
    expect(message).toBeDefined();
    const lines: string[] = [];
    const saved = { format: process.env.LOG_FORMAT, level: process.env.LOG_LEVEL };
    process.env.LOG_FORMAT = 'json';
    process.env.LOG_LEVEL = 'info';
    setLogSink((line) => lines.push(line));
    try {
      createLogger({ fn: 'rebuild' }).error(message!, { failed: ['unique_customers_customer_id'] });
      createLogger({ fn: 'rebuild' }).info('rebuild finished', { status: 'published' });
    } finally {
      setLogSink((line) => process.stderr.write(line + '\n'));
      for (const [name, value] of [['LOG_FORMAT', saved.format], ['LOG_LEVEL', saved.level]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const [withheld, published] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);

    // Act
    const filters = resources(base.template, 'AWS::Logs::MetricFilter').map(([, r]) => r.Properties as Json);
    const filter = filters.find((f) => f.LogGroupName?.Ref === 'RebuildLogGroup');

    // Assess: the filter matches the withheld line and not a published one, and an alarm watches its metric
    expect(filter).toBeDefined();
    expect(jsonFilterMatches(filter!.FilterPattern, withheld!)).toBe(true);
    expect(jsonFilterMatches(filter!.FilterPattern, published!)).toBe(false);
    const [metric] = filter!.MetricTransformations;
    const alarm = Object.values(alarms(base.template)).find(
      (a) => a.MetricName === metric.MetricName && a.Namespace === metric.MetricNamespace,
    );
    expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Sum' });
    expect(metric.MetricNamespace).toContain(STAGE); // one metric per stage: dev never alarms prod
  });

  it('run rebuild, transfer and migrate once per asynchronous event (no Lambda retries) and alarm on dropped events', () => {
    // EventBridge invokes asynchronously; Lambda retries a failed async event twice unless told not to.
    // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    const configs = Object.fromEntries(
      resources(base.template, 'AWS::Lambda::EventInvokeConfig').map(([, r]) => [
        (r.Properties!.FunctionName as { Ref: string }).Ref,
        r.Properties as Json,
      ]),
    );
    for (const fn of ['rebuild', 'transfer', 'migrate']) {
      expect(configs[`${cap(fn)}LambdaFunction`]).toMatchObject({ MaximumRetryAttempts: 0, Qualifier: '$LATEST' });
      expect(configs[`${cap(fn)}LambdaFunction`]!.MaximumEventAgeInSeconds).toBeLessThanOrEqual(21600);
    }
    const dropped = Object.values(alarms(base.template)).filter((a) => a.MetricName === 'AsyncEventsDropped');
    expect(dropped.map((a) => [a.Namespace, a.Dimensions[0].Value]).sort()).toEqual([
      ['AWS/Lambda', `${PREFIX}-rebuild`],
      ['AWS/Lambda', `${PREFIX}-transfer`],
    ]);
  });

  it('encrypt the alarm topic with a key CloudWatch may use (not the AWS managed SNS key)', () => {
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    const topic = props(base.template, 'AlarmTopic');
    expect(topic.KmsMasterKeyId).toEqual({ Ref: expect.any(String) });
    const key = base.template.Resources[topic.KmsMasterKeyId.Ref as string]!;
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Condition).toBe('CreateAlarmTopic');
    const p = key.Properties as Json;
    expect(p.EnableKeyRotation).toBe(true);
    const cw = (p.KeyPolicy.Statement as Statement[]).find(
      (st) => st.Effect === 'Allow' && JSON.stringify(st.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    );
    expect(list(cw!.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(cw!.Condition!.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
  });

  it('notify the stack topic by default, and the given topic when alarmTopicArn is set', () => {
    for (const [t, expected] of [
      [base.template, { Ref: 'AlarmTopic' }],
      [custom.template, CUSTOM.alarmTopicArn],
    ] as const) {
      const create = evalCondition(t, 'CreateAlarmTopic');
      expect(create).toBe(t === base.template);
      expect(t.Resources.AlarmTopic!.Condition).toBe('CreateAlarmTopic');
      for (const alarm of Object.values(alarms(t))) {
        expect(alarm.ActionsEnabled).toBe(true);
        for (const key of ['AlarmActions', 'OKActions']) {
          const [cond, ifTrue, ifFalse] = alarm[key][0]['Fn::If'];
          expect(cond).toBe('CreateAlarmTopic');
          expect(create ? ifTrue : ifFalse).toEqual(expected);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------- IAM

describe('IAM', () => {
  const expected: Record<string, { actions: string[]; kms: string[] }> = {
    IngestRole: {
      actions: [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ChangeMessageVisibility',
        's3:GetObject',
        's3:GetObjectVersion',
        's3:ListBucket',
        'secretsmanager:GetSecretValue',
      ],
      kms: ['kms:Decrypt'],
    },
    RebuildRole: {
      actions: [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:PutObject',
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:ListBucket',
        'secretsmanager:GetSecretValue',
      ],
      kms: ['kms:GenerateDataKey', 'kms:Decrypt'],
    },
    TransferRole: {
      actions: [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:PutObject',
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:ListBucket',
        'secretsmanager:GetSecretValue',
        'ssm:GetParametersByPath',
        'ssm:GetParameter',
        'sts:AssumeRole',
        // stakeholders' keys, through S3, in other accounts only (see the delivery tests below)
        'kms:GenerateDataKey',
        'kms:Decrypt',
        'lambda:InvokeFunction',
      ],
      kms: ['kms:GenerateDataKey', 'kms:Decrypt'],
    },
    ApiRole: {
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'lambda:InvokeFunction'],
      kms: [],
    },
    MigrateRole: {
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue'],
      kms: [],
    },
    SnowflakeIntegrationRole: {
      actions: [
        's3:GetObject',
        's3:GetObjectVersion',
        's3:ListBucket',
        's3:GetBucketLocation',
        's3:PutObject',
      ],
      kms: ['kms:Decrypt', 'kms:GenerateDataKey'],
    },
  };

  it('has exactly one role per function plus the Snowflake integration role (no shared default role)', () => {
    expect(
      resources(base.template, 'AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual(Object.keys(expected).sort());
    const roles = FUNCTIONS.map((fn) => props(base.template, `${cap(fn)}LambdaFunction`).Role);
    expect(roles).toEqual(FUNCTIONS.map((fn) => ({ 'Fn::GetAtt': [`${cap(fn)}Role`, 'Arn'] })));
    expect(base.template.Resources.IamRoleLambdaExecution).toBeUndefined();
    expect(resources(base.template, 'AWS::IAM::Policy')).toEqual([]);
    expect(resources(base.template, 'AWS::IAM::ManagedPolicy')).toEqual([]);
  });

  it.each(Object.keys(expected))('%s allows exactly its least-privilege actions', (role) => {
    const { always, whenKms } = roleStatements(base.template, role);
    expect([...actionsOf(always)].sort()).toEqual([...expected[role]!.actions].sort());
    expect([...actionsOf(whenKms)].sort()).toEqual([...expected[role]!.kms].sort());
    for (const s of whenKms)
      expect(str(s.Condition!.StringEquals!['kms:ViaService'])).toBe('s3.eu-west-2.amazonaws.com');
  });

  it('has no wildcard action and no wildcard resource in any allow statement of any role, but the three delivery statements tested below', () => {
    for (const [role] of resources(custom.template, 'AWS::IAM::Role')) {
      const { always, whenKms } = roleStatements(custom.template, role);
      for (const s of [...always, ...whenKms]) {
        if (role === 'TransferRole' && s.Sid !== undefined && DELIVERY_WILDCARDS.includes(s.Sid)) continue;
        if (s.Effect === 'Deny') {
          expect([role, s.Sid]).toEqual(['TransferRole', 'NoRoleOfThisAccount']);
          continue;
        }
        expect(s.Effect).toBe('Allow');
        for (const action of list(s.Action)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        for (const resource of list(s.Resource).map(str)) {
          expect(resource).not.toBe('*');
          // a pattern may only follow a concrete bucket/prefix, log group or secret name
          expect(resource).toMatch(/^arn(-of)?:/);
          expect(resource).not.toMatch(/^arn:aws:s3:::\*|:\*:|::\*$/);
        }
      }
    }
  });

  it('scopes each function to its own log group', () => {
    for (const fn of FUNCTIONS) {
      const { always } = roleStatements(base.template, `${cap(fn)}Role`);
      expect(resourcesFor(always, 'logs:PutLogEvents')).toEqual([
        `arn:aws:logs:eu-west-2:123456789012:log-group:/aws/lambda/${PREFIX}-${fn}:*`,
      ]);
      expect(props(base.template, `${cap(fn)}LogGroup`).LogGroupName).toBe(`/aws/lambda/${PREFIX}-${fn}`);
    }
  });

  it('lets ingest read only the routed prefixes of the landing bucket and consume only its queue', () => {
    for (const [t, prefixes] of [
      [base.template, ['customers.csv', 'products.csv', 'transactions/']],
      [custom.template, CUSTOM.routedPrefixes.split(',')],
    ] as const) {
      const { always } = roleStatements(t, 'IngestRole');
      expect(resourcesFor(always, 's3:GetObject')).toEqual(
        prefixes.map((p) => `arn:aws:s3:::${BUCKETS}-landing/${p}*`).sort(),
      );
      expect(resourcesFor(always, 's3:ListBucket')).toEqual([`arn:aws:s3:::${BUCKETS}-landing`]);
      expect(resourcesFor(always, 'sqs:ReceiveMessage')).toEqual(['arn-of:IngestQueue']);
    }
  });

  it('lets rebuild write only the export prefix of the exports bucket', () => {
    const { always } = roleStatements(base.template, 'RebuildRole');
    expect(resourcesFor(always, 's3:PutObject')).toEqual([
      `arn:aws:s3:::${BUCKETS}-exports/customer_product_purchases/*`,
    ]);
    const list_ = always.find((s) => list(s.Action).includes('s3:ListBucket'))!;
    expect(str(list_.Resource)).toBe(`arn:aws:s3:::${BUCKETS}-exports`);
    expect(list_.Condition).toEqual({ StringLike: { 's3:prefix': 'customer_product_purchases/*' } });
  });

  it('lets transfer write only the buckets of this account named by parameter, which are also TRANSFER_ALLOWED_BUCKETS', () => {
    for (const [t, buckets] of [
      [base.template, [`${BUCKETS}-exports`]],
      [custom.template, CUSTOM.transferBuckets.split(',')],
    ] as const) {
      // stakeholders' buckets are the conditioned statement tested below
      const always = roleStatements(t, 'TransferRole').always.filter((s) => s.Sid !== 'WriteStakeholderBucketsTheyAllow');
      expect(resourcesFor(always, 's3:PutObject')).toEqual(buckets.map((b) => `arn:aws:s3:::${b}/*`).sort());
      expect(resourcesFor(always, 's3:ListBucket')).toEqual(buckets.map((b) => `arn:aws:s3:::${b}`).sort());
      expect(str(props(t, 'TransferLambdaFunction').Environment.Variables.TRANSFER_ALLOWED_BUCKETS)).toBe(
        buckets.join(','),
      );
    }
  });

  it('gives each function its own Snowflake secret (by default too) and only rebuild and transfer the salt', () => {
    // One key per function: a shared key would let any function log in as the others' user.
    for (const fn of WAREHOUSE_FUNCTIONS) {
      const env = (t: CfnTemplate) =>
        props(t, `${cap(fn)}LambdaFunction`).Environment.Variables.SNOWFLAKE_SECRET_ARN;
      const secrets = (t: CfnTemplate) =>
        resourcesFor(roleStatements(t, `${cap(fn)}Role`).always, 'secretsmanager:GetSecretValue');
      // defaults: each function reads its own secret, by name
      expect(secrets(base.template)).toEqual([
        `arn:aws:secretsmanager:eu-west-2:123456789012:secret:${SERVICE}/${STAGE}/snowflake/${fn}-??????`,
      ]);
      expect(env(base.template)).toBe(`${SERVICE}/${STAGE}/snowflake/${fn}`);
      // every parameter set: each its own ARN; the salt for the exporters
      const own = CUSTOM[`${fn}SecretArn` as keyof typeof CUSTOM];
      const withSalt = fn === 'rebuild' || fn === 'transfer';
      expect(secrets(custom.template)).toEqual([own, ...(withSalt ? [CUSTOM.exportSaltSecretArn] : [])].sort());
      expect(env(custom.template)).toBe(own);
    }
    const all = WAREHOUSE_FUNCTIONS.map((fn) => props(base.template, `${cap(fn)}LambdaFunction`).Environment.Variables.SNOWFLAKE_SECRET_ARN);
    expect(new Set(all).size).toBe(WAREHOUSE_FUNCTIONS.length);
    // the API function reads no secret and logs in nowhere
    expect(props(base.template, 'ApiLambdaFunction').Environment.Variables.SNOWFLAKE_SECRET_ARN).toBeUndefined();
    expect(actionsOf(roleStatements(custom.template, 'ApiRole').always).has('secretsmanager:GetSecretValue')).toBe(false);
  });

  it('logs each function in as its own Snowflake user, and migrate never as a system role', () => {
    const vars = (fn: string) => props(base.template, `${cap(fn)}LambdaFunction`).Environment.Variables as Record<string, string>;
    const users = WAREHOUSE_FUNCTIONS.map((fn) => vars(fn).SNOWFLAKE_USER);
    expect(users).toEqual(WAREHOUSE_FUNCTIONS.map((fn) => `SHOPPING_PATTERNS_${fn.toUpperCase()}`));
    expect(vars('ingest').SNOWFLAKE_ROLE).toBe('SHOPPING_PATTERNS_LOADER');
    expect(vars('rebuild').SNOWFLAKE_ROLE).toBe('SHOPPING_PATTERNS_TRANSFORMER');
    expect(vars('transfer').SNOWFLAKE_ROLE).toBe('SHOPPING_PATTERNS_TRANSFORMER');
    // https://docs.snowflake.com/en/user-guide/security-access-control-overview#system-defined-roles
    for (const fn of WAREHOUSE_FUNCTIONS)
      expect(['ACCOUNTADMIN', 'SECURITYADMIN', 'USERADMIN', 'SYSADMIN', 'ORGADMIN']).not.toContain(
        vars(fn).SNOWFLAKE_ROLE!.toUpperCase(),
      );
    expect(vars('migrate').SNOWFLAKE_ROLE).toBe(vars('migrate').SNOWFLAKE_DEPLOY_ROLE);
  });

});

// ---------------------------------------------------------------------------------------------- Snowflake

describe('Snowflake storage integration role', () => {
  const trust = (t: CfnTemplate) => {
    const doc = props(t, 'SnowflakeIntegrationRole').AssumeRolePolicyDocument as { Statement: Statement[] };
    expect(doc.Statement).toHaveLength(1);
    return doc.Statement[0]!;
  };

  it('trusts the Snowflake IAM user with the integration external id once the handshake values are set', () => {
    const s = trust(custom.template);
    const [cond, known, placeholder] = (s.Principal as { AWS: { 'Fn::If': [string, unknown, unknown] } }).AWS[
      'Fn::If'
    ];
    expect(evalCondition(custom.template, cond)).toBe(true);
    expect(known).toBe(CUSTOM.snowflakeIamUserArn);
    expect(str(placeholder)).toBe('arn:aws:iam::123456789012:root');
    expect(s.Action).toBe('sts:AssumeRole');
    expect(s.Condition).toEqual({ StringEquals: { 'sts:ExternalId': CUSTOM.snowflakeExternalId } });
  });

  it('trusts only this account with the placeholder external id before the handshake', () => {
    const s = trust(base.template);
    const [cond] = (s.Principal as { AWS: { 'Fn::If': [string] } }).AWS['Fn::If'];
    expect(evalCondition(base.template, cond)).toBe(false);
    expect(s.Condition).toEqual({ StringEquals: { 'sts:ExternalId': '0000' } });
  });

  it('has a fixed name, so CREATE STORAGE INTEGRATION can name it before the stack exists', () => {
    expect(str(props(base.template, 'SnowflakeIntegrationRole').RoleName)).toBe(`${PREFIX}-eu-west-2-snowflake-s3`);
  });

  it('reads the landing bucket and writes only the unload prefix of the exports bucket', () => {
    const { always } = roleStatements(base.template, 'SnowflakeIntegrationRole');
    expect(resourcesFor(always, 's3:GetObject')).toEqual([`arn:aws:s3:::${BUCKETS}-landing/*`]);
    expect(resourcesFor(always, 's3:PutObject')).toEqual([`arn:aws:s3:::${BUCKETS}-exports/unload/*`]);
    const exportListing = always.find(
      (s) => list(s.Action).includes('s3:ListBucket') && str(s.Resource).endsWith('-exports'),
    )!;
    expect(exportListing.Condition).toEqual({ StringLike: { 's3:prefix': 'unload/*' } });
    // no write anywhere else
    const writes = always.filter((s) => list(s.Action).some((a) => /Put|Delete/.test(a)));
    expect(writes.flatMap((s) => list(s.Resource).map(str))).toEqual([
      `arn:aws:s3:::${BUCKETS}-exports/unload/*`,
    ]);
  });

  it('exports the role ARN for the handshake', () => {
    expect(base.template.Outputs?.SnowflakeIntegrationRoleArn).toMatchObject({
      Value: { 'Fn::GetAtt': ['SnowflakeIntegrationRole', 'Arn'] },
    });
  });
});

// ---------------------------------------------------------------------------------------------- functions

describe('functions', () => {
  // every variable shared/config.ts reads that serverless.yml must set on an AWS stage
  const required = {
    STAGE: STAGE,
    LANDING_BUCKET: `${BUCKETS}-landing`,
    EXPORTS_BUCKET: `${BUCKETS}-exports`,
    WAREHOUSE_ENGINE: 'snowflake',
    INGEST_BATCH_SIZE: '10',
    INGEST_MAX_RECEIVE_COUNT: '5',
    SNOWFLAKE_DATABASE: 'SHOPPING_PATTERNS',
    SCHEDULE_REBUILD: 'cron(0 6 ? * MON *)',
    SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true',
  };

  it.each(FUNCTIONS)(
    '%s runs a supported Node runtime (nodejs22.x or later) with handler functions/<name>.handler and the shared environment',
    (fn) => {
      const p = props(base.template, `${cap(fn)}LambdaFunction`);
      // nodejs20.x is deprecated (function creation blocked from 2027-02-01)
      // https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
      const major = /^nodejs(\d+)\.x$/.exec(p.Runtime as string)?.[1];
      expect(Number(major)).toBeGreaterThanOrEqual(22);
      expect(p.Handler).toBe(`functions/${fn}.handler`);
      const env = Object.fromEntries(
        Object.entries(p.Environment.Variables as Record<string, unknown>).map(([k, v]) => [k, str(v)]),
      );
      expect(env).toMatchObject(required);
    },
  );

  it('sets unset optional parameters nowhere, and set ones everywhere', () => {
    for (const fn of FUNCTIONS) {
      expect(
        props(base.template, `${cap(fn)}LambdaFunction`).Environment.Variables.SNOWFLAKE_ACCOUNT,
      ).toBeUndefined();
      expect(props(custom.template, `${cap(fn)}LambdaFunction`).Environment.Variables.SNOWFLAKE_ACCOUNT).toBe(
        CUSTOM.snowflakeAccount,
      );
    }
  });

  it('resolves every environment value offline (pseudo parameters at most), except the queue URLs on ingest', () => {
    // A string, or an Fn::Sub naming only the account, region and partition (filled in by CloudFormation,
    // never by a call to AWS at package time)
    const offline = (value: unknown) =>
      typeof value === 'string' ||
      (typeof (value as { 'Fn::Sub'?: unknown })['Fn::Sub'] === 'string' &&
        [...((value as { 'Fn::Sub': string })['Fn::Sub'].matchAll(/\$\{([^}]+)\}/g))].every((m) =>
          ['AWS::AccountId', 'AWS::Region', 'AWS::Partition'].includes(m[1]!),
        ));
    for (const fn of FUNCTIONS) {
      for (const [name, value] of Object.entries(
        props(base.template, `${cap(fn)}LambdaFunction`).Environment.Variables,
      )) {
        if (fn === 'ingest' && (name === 'INGEST_QUEUE_URL' || name === 'INGEST_DLQ_URL')) continue;
        expect([name, offline(value)]).toEqual([name, true]);
      }
    }
    expect(props(base.template, 'IngestLambdaFunction').Environment.Variables).toMatchObject({
      INGEST_QUEUE_URL: { Ref: 'IngestQueue' },
      INGEST_DLQ_URL: { Ref: 'IngestDeadLetterQueue' },
    });
  });

  it('runs the rebuild weekly on its cron, and the delivery dispatcher on one rule for every destination', () => {
    const rules = resources(base.template, 'AWS::Events::Rule').map(([, r]) => r.Properties as Json);
    expect(rules).toHaveLength(2);
    expect(rules).toContainEqual(
      expect.objectContaining({
        ScheduleExpression: 'cron(0 6 ? * MON *)',
        Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': ['RebuildLambdaFunction', 'Arn'] } })],
      }),
    );
    // the dispatcher is the transfer function with {"action": "dispatch"} (shared/delivery/handler.ts)
    const dispatch = rules.find((r) => r.Name === `${PREFIX}-delivery-dispatch`)!;
    expect(dispatch.ScheduleExpression).toBe('rate(15 minutes)');
    expect(dispatch.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': ['TransferLambdaFunction', 'Arn'] }, Input: JSON.stringify({ action: 'dispatch' }) }),
    ]);
  });

  it.each(FUNCTIONS)(
    '%s.zip holds its bundle and sql/**, and no tests, local data or DuckDB binaries',
    (fn) => {
      const zip = `${base.outDir}/${fn}.zip`;
      const entries = zipEntries(zip);
      expect(entries).toContain(`functions/${fn}.js`);
      expect(entries.some((e) => e.startsWith('sql/snowflake/') && e.endsWith('.sql'))).toBe(true);
      expect(entries.some((e) => e.startsWith('sql/models/'))).toBe(true);
      for (const e of entries) {
        expect(e).not.toMatch(/^(test|bench|docs|\.local|local|node_modules\/@duckdb)\//);
        expect(e).not.toMatch(/\.node$/);
      }
      // direct-upload limit is 50 MB zipped; stay far below it
      expect(fs.statSync(zip).size).toBeLessThan(20 * 1024 * 1024);
    },
  );

  it.each(FUNCTIONS)('%s ships no source map and does not parse one at cold start', (fn) => {
    // --enable-source-maps makes Node parse the whole map at every cold start (about 150 ms and 75 MB
    // measured on these bundles): neither the flag nor the maps ship.
    const entries = zipEntries(`${base.outDir}/${fn}.zip`);
    expect(entries.filter((e) => e.endsWith('.map'))).toEqual([]);
    const env = props(base.template, `${cap(fn)}LambdaFunction`).Environment.Variables as Record<string, unknown>;
    expect(String(env.NODE_OPTIONS ?? '')).not.toMatch(/enable-source-maps/);
  });

  it('bundles for the Node of the runtime (esbuild target)', async () => {
    // the bundle for nodejs22.x may use Node 22 syntax; the target must not lag behind the runtime
    const printed = (await printService({ stage: STAGE })) as { custom: { esbuild: { target: string } } };
    const runtime = props(base.template, 'IngestLambdaFunction').Runtime as string;
    expect(printed.custom.esbuild.target).toBe(`node${/^nodejs(\d+)\.x$/.exec(runtime)?.[1]}`);
  });

  it.each(FUNCTIONS)('%s.zip loads on its own, without the repository node_modules (no DuckDB at import)', (fn) => {
    // Prepare: the zip unpacked where no node_modules can be found, as Lambda would
    const dir = fs.mkdtempSync(`${os.tmpdir()}/bundle-${fn}-`);
    try {
      execFileSync('unzip', ['-q', `${base.outDir}/${fn}.zip`, '-d', dir]);
      // Act
      const out = execFileSync(
        process.execPath,
        ['-e', `const m = require('./functions/${fn}.js'); process.stdout.write(typeof m.handler);`],
        {
          cwd: dir,
          env: { PATH: process.env.PATH, SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true', AWS_EC2_METADATA_DISABLED: 'true' },
        },
      ).toString();
      // Assess
      expect(out).toBe('function');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the local stage offline: no secret, no queue URLs, the loopback buckets and DuckDB', async () => {
    // Act
    const local = (await printService({ stage: 'local' })) as {
      provider: { environment: Record<string, unknown> };
      functions: Record<string, { environment?: Record<string, unknown> }>;
    };

    // Assess: a null value is dropped from the function's environment by osls
    const env = local.provider.environment;
    expect(env).toMatchObject({
      STAGE: 'local',
      LANDING_BUCKET: 'landing',
      EXPORTS_BUCKET: 'exports',
      WAREHOUSE_ENGINE: 'duckdb',
    });
    expect(env.SNOWFLAKE_SECRET_ARN ?? null).toBeNull();
    expect(local.functions.ingest!.environment!.INGEST_QUEUE_URL ?? null).toBeNull();
    for (const value of [
      ...Object.values(env),
      ...Object.values(local.functions).flatMap((f) => Object.values(f.environment ?? {})),
    ]) {
      expect(value === null || typeof value === 'string').toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------- delivery

/** The TransferRole statements whose resources are patterns, each conditioned (tested below). */
const DELIVERY_WILDCARDS = ['AssumeDeliveryRoles', 'NoRoleOfThisAccount', 'WriteStakeholderBucketsTheyAllow', 'EncryptWithStakeholderKeysTheyAllow'];

describe('transfers API and stakeholder delivery', () => {
  const statement = (t: CfnTemplate, sid: string) => {
    const found = roleStatements(t, 'TransferRole').always.filter((s) => s.Sid === sid);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('serves exactly POST /transfers and GET /transfers/{run_id}, each with IAM authorisation, no CORS, through the api function', () => {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
    const routes = resources(base.template, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties as Json);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['GET /transfers/{run_id}', 'POST /transfers']);
    for (const r of routes) expect(r.AuthorizationType).toBe('AWS_IAM');
    expect(resources(base.template, 'AWS::ApiGatewayV2::Authorizer')).toEqual([]);
    const [[, api]] = resources(base.template, 'AWS::ApiGatewayV2::Api') as [[string, CfnResource]];
    expect((api.Properties as Json).CorsConfiguration).toBeUndefined();
    expect((api.Properties as Json).ProtocolType).toBe('HTTP');
    const [[, integration]] = resources(base.template, 'AWS::ApiGatewayV2::Integration') as [[string, CfnResource]];
    expect(integration.Properties).toMatchObject({ IntegrationUri: { 'Fn::GetAtt': ['ApiLambdaFunction', 'Arn'] }, PayloadFormatVersion: '2.0' });
    for (const r of routes) expect(JSON.stringify(r.Target)).toContain('HttpApiIntegrationApi');
  });

  it('logs every request and throttles the stage; only this API may invoke the api function', () => {
    const stage = props(base.template, 'HttpApiStage');
    expect(stage.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] });
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingBurstLimit: expect.any(Number), ThrottlingRateLimit: expect.any(Number) });
    const permissions = resources(base.template, 'AWS::Lambda::Permission')
      .map(([, r]) => r.Properties as Json)
      .filter((p) => JSON.stringify(p.FunctionName).includes('ApiLambdaFunction'));
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.Principal).toBe('apigateway.amazonaws.com');
    expect(str(permissions[0]!.SourceArn)).toBe('arn:ref:AWS::Partition:execute-api:ref:AWS::Region:ref:AWS::AccountId:ref:HttpApi/*');
  });

  it('lets the api function do nothing but invoke the transfer function', () => {
    const { always } = roleStatements(custom.template, 'ApiRole');
    expect(resourcesFor(always, 'lambda:InvokeFunction')).toEqual([`arn:aws:lambda:eu-west-2:123456789012:function:${PREFIX}-transfer`]);
    expect(props(base.template, 'ApiLambdaFunction').Environment.Variables.TRANSFER_FUNCTION_NAME).toBe(`${PREFIX}-transfer`);
    expect(props(base.template, 'ApiLambdaFunction').Timeout).toBeLessThanOrEqual(30); // API Gateway's integration limit
  });

  it('grants sts:AssumeRole only on roles named with the delivery prefix, never on a role of this account', () => {
    for (const t of [base.template, custom.template]) {
      const allow = statement(t, 'AssumeDeliveryRoles');
      expect([allow.Effect, allow.Action, str(allow.Resource)]).toEqual(['Allow', 'sts:AssumeRole', 'arn:aws:iam::*:role/shopping-patterns-delivery-*']);
      const deny = statement(t, 'NoRoleOfThisAccount');
      expect([deny.Effect, deny.Action, str(deny.Resource)]).toEqual(['Deny', 'sts:AssumeRole', 'arn:aws:iam::123456789012:role/*']);
      // no other statement of any role allows sts:AssumeRole
      for (const [role] of resources(t, 'AWS::IAM::Role')) {
        const others = roleStatements(t, role).always.filter((s) => list(s.Action).includes('sts:AssumeRole') && s.Sid !== 'AssumeDeliveryRoles' && s.Effect === 'Allow');
        expect([role, others]).toEqual([role, []]);
      }
    }
    // the code refuses a destination role without the prefix, with the same prefix
    const env = props(base.template, 'TransferLambdaFunction').Environment.Variables;
    expect(env.DELIVERY_ROLE_NAME_PREFIX).toBe('shopping-patterns-delivery-');
    expect(loadConfig({}).delivery.rolePrefix).toBe(env.DELIVERY_ROLE_NAME_PREFIX);
  });

  it("writes (and encrypts with) other accounts' buckets and keys only, never by pattern in this account", () => {
    const own = { StringNotEquals: { 'aws:ResourceAccount': { Ref: 'AWS::AccountId' } } };
    const s3 = statement(base.template, 'WriteStakeholderBucketsTheyAllow');
    expect(list(s3.Action).sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListBucket', 's3:PutObject']);
    expect(list(s3.Resource).map(str).sort()).toEqual(['arn:aws:s3:::*', 'arn:aws:s3:::*/*']);
    expect(s3.Condition).toEqual(own);
    const kms = statement(base.template, 'EncryptWithStakeholderKeysTheyAllow');
    expect(list(kms.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(str(kms.Resource)).toBe('arn:aws:kms:*:*:key/*');
    expect(kms.Condition).toEqual({ ...own, StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } });
  });

  it('reads the destinations from their SSM path only, the path the code reads by default', () => {
    const read = statement(base.template, 'ReadDestinations');
    expect(list(read.Action).sort()).toEqual(['ssm:GetParameter', 'ssm:GetParametersByPath']);
    const path = `/${SERVICE}/${STAGE}/destinations`;
    expect(list(read.Resource).map(str).sort()).toEqual([
      `arn:aws:ssm:eu-west-2:123456789012:parameter${path}`,
      `arn:aws:ssm:eu-west-2:123456789012:parameter${path}/*`,
    ]);
    const env = props(base.template, 'TransferLambdaFunction').Environment.Variables;
    expect(env.DESTINATIONS_PARAMETER_PATH).toBe(path);
    const cfg = loadConfig({ STAGE: 'dev', LANDING_BUCKET: 'l-1', EXPORTS_BUCKET: 'e-1', WAREHOUSE_ENGINE: 'duckdb' });
    expect(cfg.delivery.store).toEqual({ kind: 'ssm', path });
  });

  it("has the fixed role name stakeholders' policies name, and tells the function its account", () => {
    expect(str(props(base.template, 'TransferRole').RoleName)).toBe(transferRoleName(STAGE, 'eu-west-2'));
    expect(str(props(base.template, 'TransferLambdaFunction').Environment.Variables.ACCOUNT_ID)).toBe('123456789012');
    const start = statement(base.template, 'StartTransferRuns');
    expect(str(start.Resource)).toBe(`arn:aws:lambda:eu-west-2:123456789012:function:${PREFIX}-transfer`);
  });

  it('alarms when a transfer fails and when a transfer event is dropped', () => {
    const alarms = resources(base.template, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Json);
    for (const metric of ['Errors', 'AsyncEventsDropped']) {
      expect(alarms).toContainEqual(
        expect.objectContaining({ MetricName: metric, Namespace: 'AWS/Lambda', Dimensions: [{ Name: 'FunctionName', Value: `${PREFIX}-transfer` }] }),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------- whole template

describe('whole template', () => {
  it('has no dependency cycle', () => {
    for (const t of [base.template, custom.template]) expect(findCycles(dependencyGraph(t))).toEqual([]);
  });

  it('passes the Guard scan (Control Tower rules) with every suppression justified and used', () => {
    for (const result of [base, custom]) {
      const report = applySuppressions(scan(result.templatePath), result.template);
      expect({
        failures: report.failures,
        problems: report.problems,
        report: formatReport(report),
      }).toMatchObject({
        failures: [],
        problems: [],
      });
    }
  });

  it('creates only the deployment bucket in the first (create-stack) template', () => {
    expect(Object.keys(base.createTemplate.Resources).sort()).toEqual([
      'ServerlessDeploymentBucket',
      'ServerlessDeploymentBucketPolicy',
    ]);
  });

  it('outputs the names a runbook needs', () => {
    for (const name of [
      'LandingBucketName',
      'ExportsBucketName',
      'IngestQueueUrl',
      'IngestQueueArn',
      'IngestDeadLetterQueueUrl',
      'IngestDeadLetterQueueArn',
      'AlarmTopicArn',
      'TransferRoleArn',
      'HttpApiUrl',
    ]) {
      expect(base.template.Outputs).toHaveProperty(name);
    }
  });
});
