/**
 * Writing into a destination's bucket safely: one S3 client per delivery target that
 * - holds the destination's credentials: for `assume_role`, temporary credentials from STS
 *   AssumeRole with the destination's external ID (the confused-deputy guard the stakeholder's trust
 *   policy requires: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html),
 *   refreshed before they expire; otherwise this function's own credentials;
 * - sends `ExpectedBucketOwner` (x-amz-expected-bucket-owner) with every request, so a bucket that
 *   changed hands (deleted, and its name taken by another account) is never written: S3 answers
 *   403 Access Denied when the owner differs.
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
 * - makes the stakeholder own what we write: with `bucket_policy` access our account writes, so
 *   every object-creating request carries the `bucket-owner-full-control` canned ACL, which a bucket
 *   with ACLs disabled (Object Ownership "bucket owner enforced", the default and the recommended
 *   setting) accepts, and which gives ownership (bucket owner preferred) or full control (object
 *   writer) otherwise. With `assume_role` the writer is the stakeholder's own role, so the objects
 *   are theirs under every setting.
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_OwnershipControlsRule.html
 * - encrypts with the stakeholder's KMS key when the destination names one (ServerSideEncryption
 *   aws:kms + SSEKMSKeyId on PutObject and CreateMultipartUpload; parts follow the upload's settings).
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html
 * - talks only to that bucket, with only the operations a delivery needs.
 *
 * The rules sit in one place, the client's `send`, so every caller (the part writer, lib-storage's
 * multipart upload and its abort, the manifest, the cleanup, the verify command) gets them; a
 * wrapper rather than a middleware, so tests that replace `send` (aws-sdk-client-mock) see exactly
 * what is sent.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { config, type Config } from '../config';
import { classifyError, ConfigError, errorMessage, InvalidInputError, PipelineError, TerminalError, TransientError } from '../errors';
import { createS3Client, s3 } from '../storage/object-store';
import type { Destination } from './destination';

/** Where a transfer writes: a named destination, or a bucket of this account (TRANSFER_ALLOWED_BUCKETS). */
export interface DeliveryTarget {
  /** The destination's name; undefined for a bucket of this account. */
  name: string | undefined;
  bucket: string;
  region: string;
  /** ExpectedBucketOwner on every request. */
  ownerAccountId: string;
  access: Destination['access'] | { type: 'own' };
  kmsKeyArn?: string;
}

/** The target a named destination describes. */
export function destinationTarget(d: Destination): DeliveryTarget {
  return { name: d.name, bucket: d.bucket, region: d.region, ownerAccountId: d.account_id, access: d.access, kmsKeyArn: d.kms_key_arn };
}

/** The operations a delivery sends; anything else through a delivery client is a bug, refused. */
const ALLOWED = [
  HeadBucketCommand,
  ListObjectsV2Command,
  HeadObjectCommand,
  PutObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
];
const CREATES = [PutObjectCommand, CreateMultipartUploadCommand, CopyObjectCommand];

export const BUCKET_OWNER_FULL_CONTROL = 'bucket-owner-full-control';

interface CommandLike {
  input: Record<string, unknown>;
}

/**
 * `base` with the target's rules applied to every request it sends (see the file comment). The
 * result is an S3Client (lib-storage needs one); its other members are `base`'s.
 */
export function boundClient(base: S3Client, target: DeliveryTarget): S3Client {
  const stamp = (command: CommandLike): void => {
    if (!ALLOWED.some((C) => command instanceof C)) {
      throw new TerminalError(`a delivery client sends only writes and listings, not ${(command as object).constructor.name}`);
    }
    const input = command.input;
    if (input.Bucket !== target.bucket) {
      throw new TerminalError(`the delivery client for bucket ${target.bucket} refused a request to ${String(input.Bucket)}`);
    }
    input.ExpectedBucketOwner = target.ownerAccountId;
    if (CREATES.some((C) => command instanceof C)) {
      if (target.access.type === 'bucket_policy') input.ACL = BUCKET_OWNER_FULL_CONTROL;
      if (target.kmsKeyArn) {
        input.ServerSideEncryption = 'aws:kms';
        input.SSEKMSKeyId = target.kmsKeyArn;
      }
    }
  };
  return new Proxy(base, {
    get(client, prop) {
      if (prop === 'send') {
        return (command: CommandLike, ...rest: unknown[]) => {
          stamp(command);
          return (client.send as (...args: unknown[]) => unknown)(command, ...rest);
        };
      }
      const value = Reflect.get(client, prop, client) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(client) : value;
    },
  });
}

export interface ClientOptions {
  config?: Config;
  /** The S3 client for this account's own credentials (tests; default: the process's, or one for the region). */
  s3?: S3Client;
  sts?: STSClient;
  /** Shown in the stakeholder's CloudTrail as the session name: which run wrote. */
  sessionName?: string;
}

export interface DeliveryClient {
  client: S3Client;
  /** The role session's credentials, fetched (for assume_role); resolves at once otherwise. */
  credentials(): Promise<void>;
}

/** The delivery client for a target (see boundClient), with assumed-role credentials where the destination says so. */
export function deliveryClient(target: DeliveryTarget, opts: ClientOptions = {}): DeliveryClient {
  const cfg = opts.config ?? config();
  if (target.access.type !== 'assume_role') {
    const base = opts.s3 ?? (target.region === cfg.region ? s3() : createS3Client(cfg, { region: target.region }));
    return { client: boundClient(base, target), credentials: async () => undefined };
  }
  const provider = assumeRoleCredentials(target.access, {
    sts: opts.sts ?? stsClient(cfg),
    sessionName: opts.sessionName ?? `shopping-patterns-${cfg.stage}`,
  });
  const base = createS3Client(cfg, { region: target.region, credentials: provider });
  return {
    client: boundClient(base, target),
    credentials: async () => {
      await provider();
    },
  };
}

export function stsClient(cfg: Config = config()): STSClient {
  return new STSClient({
    region: cfg.region,
    maxAttempts: 3,
    ...(cfg.delivery.stsEndpoint
      ? { endpoint: cfg.delivery.stsEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
}

/** A RoleSessionName: 2-64 of letters, digits and _+=,.@- */
function sessionName(text: string): string {
  const name = text.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return name.length >= 2 ? name : 'shopping-patterns';
}

/** What the SDK takes as `credentials` (structurally the SDK's Credentials). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type CredentialsProvider = () => Promise<Credentials>;

/** Credentials refreshed this long before they expire (the SDK asks again 5 minutes before). */
const REFRESH_MS = 6 * 60_000;
/**
 * One hour: a role's default maximum session, and longer than a Lambda run (15 minutes); a longer
 * run (a CLI) gets fresh credentials through the provider.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (DurationSeconds)
 */
const SESSION_SECONDS = 3600;

/** AssumeRole with the destination's external ID, as a credential provider that refreshes itself. */
export function assumeRoleCredentials(
  access: { role_arn: string; external_id: string },
  opts: { sts: STSClient; sessionName: string },
): CredentialsProvider {
  let current: Credentials | undefined;
  let pending: Promise<Credentials> | undefined;
  const fetch = async (): Promise<Credentials> => {
    try {
      const res = await opts.sts.send(
        new AssumeRoleCommand({
          RoleArn: access.role_arn,
          RoleSessionName: sessionName(opts.sessionName),
          ExternalId: access.external_id,
          DurationSeconds: SESSION_SECONDS,
        }),
      );
      const c = res.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new TerminalError('AssumeRole returned no credentials');
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    } catch (err) {
      throw assumeRoleError(err, access.role_arn);
    }
  };
  return async () => {
    const fresh = current?.expiration && current.expiration.getTime() - REFRESH_MS > Date.now();
    if (current && fresh) return current;
    pending ??= fetch().finally(() => (pending = undefined));
    current = await pending;
    return current;
  };
}

export function assumeRoleError(err: unknown, roleArn: string): Error {
  if (err instanceof PipelineError) return err;
  const e = err as { name?: string; Code?: string; message?: string };
  const code = e.name ?? e.Code ?? 'Error';
  if (code === 'AccessDenied' || code === 'AccessDeniedException') {
    return new TerminalError(
      `cannot assume ${roleArn} with the destination's external ID (AccessDenied: ${e.message ?? ''}): the role's trust ` +
        'policy must allow our transfer role with exactly this external ID (npm run destination -- policy NAME prints it)',
      { cause: err },
    );
  }
  const classified = classifyError(err);
  const message = `cannot assume ${roleArn}: ${code}: ${errorMessage(err)}`;
  return classified.retryable ? new TransientError(message, { cause: err }) : new TerminalError(message, { cause: err });
}

let accountCache: Promise<string> | undefined;

/** This stage's account: ACCOUNT_ID, else STS GetCallerIdentity (an operator's workstation). */
export async function ownAccountId(cfg: Config = config(), sts?: STSClient): Promise<string> {
  if (cfg.delivery.accountId) return cfg.delivery.accountId;
  accountCache ??= (async () => {
    try {
      const res = await (sts ?? stsClient(cfg)).send(new GetCallerIdentityCommand({}));
      if (!res.Account) throw new Error('no Account in the answer');
      return res.Account;
    } catch (err) {
      accountCache = undefined;
      throw new ConfigError(`ACCOUNT_ID is not set and STS GetCallerIdentity failed (${errorMessage(err)}): set ACCOUNT_ID`, { cause: err });
    }
  })();
  return accountCache;
}

/** Who writes, for messages. */
export function describeWriter(target: DeliveryTarget): string {
  return target.access.type === 'assume_role' ? `the role ${target.access.role_arn}` : 'this function';
}

/**
 * Before any warehouse work: the credentials (AssumeRole), then one listing of the target's prefix
 * with ExpectedBucketOwner, which S3 refuses when the bucket belongs to another account, does not
 * exist, or may not be listed. A listing, not HeadBucket: a stakeholder may grant s3:ListBucket only
 * on the delivery prefix (a condition on s3:prefix), which a HeadBucket (no prefix) would not meet.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
export async function checkTarget(delivery: DeliveryClient, target: DeliveryTarget, prefix: string, cfg: Config = config()): Promise<void> {
  await delivery.credentials();
  try {
    await delivery.client.send(
      new ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix ? `${prefix}/` : undefined, MaxKeys: 1 }),
    );
  } catch (err) {
    throw targetError(err, target, cfg);
  }
}

export function targetError(err: unknown, target: DeliveryTarget, cfg: Config): Error {
  if (err instanceof TerminalError && /delivery client/.test(err.message)) return err;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const refused = e.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(errorMessage(err));
  if (refused && cfg.s3Endpoint) {
    return new TransientError(
      `cannot reach the S3 endpoint ${cfg.s3Endpoint}: is the local stack running? Start it with \`npm start\`` +
        ' (or set S3_ENDPOINT)',
      { cause: err },
    );
  }
  if (e.name === 'NoSuchBucket' || e.name === 'NotFound' || status === 404) {
    return new InvalidInputError(`destination bucket ${target.bucket} does not exist`, { cause: err });
  }
  if (e.name === 'PermanentRedirect' || status === 301) {
    return new InvalidInputError(`destination bucket ${target.bucket} is not in region ${target.region}`, { cause: err });
  }
  if (e.name === 'AccessDenied' || e.name === 'Forbidden' || status === 403) {
    return new TerminalError(
      `S3 refused ${target.bucket} (403): either the bucket is not owned by account ${target.ownerAccountId} ` +
        `(ExpectedBucketOwner) or ${describeWriter(target)} may not list it; nothing was written`,
      { cause: err },
    );
  }
  if (err instanceof TerminalError || err instanceof TransientError) return err;
  return classifyError(err);
}
