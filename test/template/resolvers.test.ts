/**
 * infra/resolvers.js: the list-valued stage parameters of serverless.yml, parsed and validated before
 * they reach CloudFormation (where the same mistakes would fail a deploy half-way).
 */
import {
  ParameterError,
  ingestSecretResources,
  landingQueueConfigurations,
  migrateSecretResources,
  parseBuckets,
  parsePrefixes,
  rebuildSecretResources,
  secretResource,
  transferBucketList,
} from '../../infra/resolvers';

/** A stand-in for osls's resolveVariable: `param:name` and `param:name, null` from a plain map. */
function variables(values: Record<string, string>, stage = 'dev') {
  return async (variable: string): Promise<unknown> => {
    if (variable === 'sls:stage') return stage;
    const match = /^param:([A-Za-z0-9]+)(, null)?$/.exec(variable);
    if (!match) throw new Error(`unexpected variable ${variable}`);
    const [, name, fallback] = match;
    if (name! in values) return values[name!];
    if (fallback) return null;
    throw new Error(`Value not found at "param" source: ${name}`);
  };
}

describe('parsePrefixes', () => {
  it('splits, trims and keeps order', () => {
    // Act
    const prefixes = parsePrefixes(' customers.csv, products.csv ,transactions/ ');

    // Assess
    expect(prefixes).toEqual(['customers.csv', 'products.csv', 'transactions/']);
  });

  it.each([
    ['', 'at least one prefix'],
    ['transactions/,transactions/d=2018', 'overlaps'],
    ['a/,a/', 'duplicate'],
    ['/transactions/', 'must not start with "/"'],
    ['tran$actions/', 'may contain only'],
    ['with space/', 'may contain only'],
  ])('rejects %j (%s)', (value, message) => {
    // Act / Assess
    expect(() => parsePrefixes(value)).toThrow(ParameterError);
    expect(() => parsePrefixes(value)).toThrow(message);
  });

  it('names the parameter in its error', () => {
    expect(() => parsePrefixes('')).toThrow('serverless.yml parameter "routedPrefixes"');
  });
});

describe('parseBuckets', () => {
  it('accepts valid names and drops duplicates', () => {
    expect(parseBuckets('a-bucket, other.bucket,a-bucket')).toEqual(['a-bucket', 'other.bucket']);
  });

  it.each([
    '',
    'UpperCase',
    'ab',
    'bucket_with_underscore',
    '192.168.1.1',
    'xn--punycode',
    'a..b',
    '-leading',
  ])('rejects %j', (value) => {
    expect(() => parseBuckets(value)).toThrow(ParameterError);
  });
});

describe('secretResource', () => {
  it('uses a full ARN as it is', () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:shopping-patterns/dev/snowflake-AbCdEf';

    // Act / Assess
    expect(secretResource(arn, 'snowflakeSecretArn')).toBe(arn);
  });

  it('turns a name into an ARN pattern matching the six random characters Secrets Manager appends', () => {
    // Act
    const resource = secretResource('shopping-patterns/dev/snowflake', 'snowflakeSecretArn') as {
      'Fn::Sub': string;
    };

    // Assess
    expect(resource['Fn::Sub']).toBe(
      'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:shopping-patterns/dev/snowflake-??????',
    );
  });

  it.each([
    '',
    'arn:aws:s3:::not-a-secret',
    'name with spaces',
    'arn:aws:secretsmanager:eu-west-2:12:secret:x',
  ])('rejects %j', (value) => {
    expect(() => secretResource(value, 'snowflakeSecretArn')).toThrow(ParameterError);
  });
});

describe('resolvers', () => {
  it('builds one ObjectCreated notification per routed prefix, all to the ingest queue', async () => {
    // Prepare
    const resolveVariable = variables({ routedPrefixes: 'starter/,transactions/' });

    // Act
    const configs = await landingQueueConfigurations({ resolveVariable });

    // Assess
    expect(configs).toEqual(
      ['starter/', 'transactions/'].map((prefix) => ({
        Event: 's3:ObjectCreated:*',
        Queue: { 'Fn::GetAtt': ['IngestQueue', 'Arn'] },
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: prefix }] } },
      })),
    );
  });

  it('adds the export salt secret only for the functions that export, and only when it is set', async () => {
    // Prepare
    const salt = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:salt-AbCdEf';
    const own = { ingestSecretArn: 'sf/ingest', rebuildSecretArn: 'sf/rebuild' };
    const withSalt = variables({ ...own, exportSaltSecretArn: salt });
    const withoutSalt = variables({ ...own, exportSaltSecretArn: '' });

    // Act
    const ingest = await ingestSecretResources({ resolveVariable: withSalt });
    const rebuild = await rebuildSecretResources({ resolveVariable: withSalt });
    const rebuildNoSalt = await rebuildSecretResources({ resolveVariable: withoutSalt });

    // Assess
    expect(ingest).toHaveLength(1);
    expect(rebuild).toHaveLength(2);
    expect(rebuild[1]).toBe(salt);
    expect(rebuildNoSalt).toHaveLength(1);
  });

  it('gives each function only its own secret, never a shared one', async () => {
    // Prepare: a leftover shared parameter must not widen any function's access
    const own = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:sp/dev/migrate-AbCdEf';
    const resolveVariable = variables({ snowflakeSecretArn: 'shared/name', migrateSecretArn: own, ingestSecretArn: 'sp/dev/ingest' });

    // Act
    const migrate = await migrateSecretResources({ resolveVariable });
    const ingest = await ingestSecretResources({ resolveVariable });

    // Assess
    expect(migrate).toEqual([own]);
    expect(ingest).toEqual([
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:sp/dev/ingest-??????',
      },
    ]);
    await expect(rebuildSecretResources({ resolveVariable })).rejects.toThrow('parameter "rebuildSecretArn"');
  });

  it("requires each function's Snowflake secret on AWS stages and tolerates its absence on the local stage", async () => {
    await expect(ingestSecretResources({ resolveVariable: variables({}, 'dev') })).rejects.toThrow(
      'parameter "ingestSecretArn"',
    );
    await expect(ingestSecretResources({ resolveVariable: variables({}, 'local') })).resolves.toEqual([]);
  });

  it('joins the transfer buckets for TRANSFER_ALLOWED_BUCKETS', async () => {
    await expect(
      transferBucketList({ resolveVariable: variables({ transferBuckets: 'b-one, b-two' }) }),
    ).resolves.toBe('b-one,b-two');
  });
});
