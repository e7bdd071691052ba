/**
 * Variable resolvers for serverless.yml: the few template fragments that depend on a list-valued stage
 * parameter, which YAML cannot loop over. Used as `${file(./infra/resolvers.js):<export>}`; osls calls each
 * export with `{ resolveVariable }` at package time, offline (nothing here talks to AWS).
 * https://github.com/oss-serverless/osls/blob/main/docs/guides/variables.md (file source, JavaScript files)
 *
 * The parsing and validation functions are pure and unit-tested in test/template/resolvers.test.ts; a bad
 * parameter fails `sls package` with a message naming it, long before CloudFormation would.
 */
'use strict';

/**
 * S3 key prefix characters that need no escaping anywhere (S3 "safe characters", minus `*`).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
 */
const SAFE_PREFIX = /^[A-Za-z0-9!_.'()=/-]+$/;

/** Bucket naming rules (general purpose buckets). https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html */
const BUCKET_NAME =
  /^(?!xn--)(?!sthree-)(?!.*-s3alias$)(?!.*--ol-s3$)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A secret name: letters, digits and /_+=.@- (Secrets Manager CreateSecret Name constraints). */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

class ParameterError extends Error {
  constructor(param, message) {
    super(`serverless.yml parameter "${param}": ${message}`);
    this.name = 'ParameterError';
  }
}

function splitList(value) {
  if (value === undefined || value === null) return [];
  return String(value)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * Routed landing prefixes (comma-separated). S3 rejects two notification rules for the same event whose
 * prefixes overlap (one is a prefix of the other), so that is refused here with a clearer message.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html
 */
function parsePrefixes(value, param = 'routedPrefixes') {
  const prefixes = splitList(value);
  if (prefixes.length === 0) throw new ParameterError(param, 'at least one prefix is required');
  for (const prefix of prefixes) {
    if (prefix.startsWith('/')) throw new ParameterError(param, `"${prefix}" must not start with "/"`);
    if (!SAFE_PREFIX.test(prefix)) {
      throw new ParameterError(param, `"${prefix}" may contain only letters, digits and !_.'()=/-`);
    }
  }
  for (const a of prefixes) {
    for (const b of prefixes) {
      if (a !== b && b.startsWith(a)) {
        throw new ParameterError(
          param,
          `"${a}" overlaps "${b}": S3 rejects overlapping notification prefixes`,
        );
      }
    }
  }
  if (new Set(prefixes).size !== prefixes.length) throw new ParameterError(param, 'duplicate prefix');
  return prefixes;
}

/**
 * CloudFormation pseudo parameters a bucket name may contain (the default names carry the account and
 * region, filled in by Fn::Sub at deploy time), each with the longest value it can take, so a name is
 * validated as it will be in the longest case.
 */
const PSEUDO = { 'AWS::AccountId': '123456789012', 'AWS::Region': 'ap-southeast-5' };

function withPseudo(name) {
  return name.replace(/\$\{([^}]+)\}/g, (m, p) => PSEUDO[p] ?? m);
}

/** Destination bucket names for transfer (comma-separated, at least one). */
function parseBuckets(value, param = 'transferBuckets') {
  const buckets = splitList(value);
  if (buckets.length === 0) throw new ParameterError(param, 'at least one bucket name is required');
  for (const bucket of buckets) {
    if (!BUCKET_NAME.test(withPseudo(bucket)))
      throw new ParameterError(param, `"${bucket}" is not a valid S3 bucket name`);
  }
  return [...new Set(buckets)];
}

/** A string for CloudFormation: as it is, or an Fn::Sub when it names pseudo parameters. */
function cfnString(text) {
  return /\$\{AWS::/.test(text) ? { 'Fn::Sub': text } : text;
}

/**
 * The IAM resource for a secret given by full ARN or by name. GetSecretValue accepts either as SecretId;
 * a policy on a name needs the `-??????` wildcard for the six random characters Secrets Manager appends.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html
 */
function secretResource(value, param) {
  const id = String(value ?? '').trim();
  if (id === '') throw new ParameterError(param, 'a secret name or ARN is required');
  if (id.startsWith('arn:')) {
    if (!SECRET_ARN.test(id)) throw new ParameterError(param, `"${id}" is not a Secrets Manager secret ARN`);
    return id;
  }
  if (!SECRET_NAME.test(id)) throw new ParameterError(param, `"${id}" is not a valid secret name`);
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${id}-??????`,
  };
}

/** One S3 notification rule per routed prefix, all to the ingest queue. */
function queueConfigurations(prefixes, queueLogicalId = 'IngestQueue') {
  return prefixes.map((prefix) => ({
    // ObjectCreated:* covers Put, Post, Copy and CompleteMultipartUpload.
    Event: 's3:ObjectCreated:*',
    Queue: { 'Fn::GetAtt': [queueLogicalId, 'Arn'] },
    Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: prefix }] } },
  }));
}

function objectArn(bucket, keyPattern) {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${bucket}/${keyPattern}` };
}

async function param(resolveVariable, name) {
  return resolveVariable(`param:${name}`);
}

async function optionalParam(resolveVariable, name) {
  const value = await resolveVariable(`param:${name}, null`);
  return value === null || value === undefined || String(value).trim() === ''
    ? undefined
    : String(value).trim();
}

/**
 * The secrets a function may read: its own Snowflake secret (`<fn>SecretArn`: one service user per
 * function, so each function reads only its own key), plus the export salt secret when `withSalt` and
 * one is configured. The local stage has no secret parameter (it is never deployed, and its functions
 * read keys from the environment), so it gets an empty list instead of an error.
 */
async function secretResources(resolveVariable, fn, withSalt) {
  const param = `${fn}SecretArn`;
  const own = await optionalParam(resolveVariable, param);
  if (own === undefined) {
    if ((await resolveVariable('sls:stage')) === 'local') return [];
    throw new ParameterError(param, 'a secret name or ARN is required');
  }
  const resources = [secretResource(own, param)];
  const salt = withSalt ? await optionalParam(resolveVariable, 'exportSaltSecretArn') : undefined;
  if (salt !== undefined) resources.push(secretResource(salt, 'exportSaltSecretArn'));
  return resources;
}

module.exports = {
  ParameterError,
  parsePrefixes,
  parseBuckets,
  cfnString,
  secretResource,
  queueConfigurations,

  /** NotificationConfiguration.QueueConfigurations of the landing bucket. */
  landingQueueConfigurations: async ({ resolveVariable }) =>
    queueConfigurations(parsePrefixes(await param(resolveVariable, 'routedPrefixes'))),

  /** Objects the ingest function may read: the routed prefixes of the landing bucket only. */
  landingReadResources: async ({ resolveVariable }) => {
    const bucket = await param(resolveVariable, 'landingBucket');
    return parsePrefixes(await param(resolveVariable, 'routedPrefixes')).map((p) =>
      objectArn(bucket, `${p}*`),
    );
  },

  /** The secrets each function may read (see secretResources). */
  ingestSecretResources: async ({ resolveVariable }) => secretResources(resolveVariable, 'ingest', false),
  rebuildSecretResources: async ({ resolveVariable }) => secretResources(resolveVariable, 'rebuild', true),
  transferSecretResources: async ({ resolveVariable }) => secretResources(resolveVariable, 'transfer', true),
  migrateSecretResources: async ({ resolveVariable }) => secretResources(resolveVariable, 'migrate', false),

  /** TRANSFER_ALLOWED_BUCKETS: the same list the transfer role may write to. */
  transferBucketList: async ({ resolveVariable }) =>
    cfnString(parseBuckets(await param(resolveVariable, 'transferBuckets')).join(',')),

  /** Objects the transfer function may write: every key of each destination bucket. */
  transferObjectResources: async ({ resolveVariable }) =>
    parseBuckets(await param(resolveVariable, 'transferBuckets')).map((b) => objectArn(b, '*')),

  /** The destination buckets themselves (ListBucket, to clean stale parts of an earlier failed run). */
  transferBucketResources: async ({ resolveVariable }) =>
    parseBuckets(await param(resolveVariable, 'transferBuckets')).map((b) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:s3:::${b}`,
    })),
};
