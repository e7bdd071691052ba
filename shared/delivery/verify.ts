/**
 * `npm run destination -- verify NAME`: check a destination before its first transfer, as the
 * transfer function itself would write there (on AWS the check runs inside that function, with its
 * role), and say exactly what is missing. Each step uses the same delivery client as a transfer
 * (./client.ts): ExpectedBucketOwner on every request, the ACL and KMS key on every write.
 *
 * 1. the record is valid;
 * 2. assume_role: AssumeRole with the external ID succeeds; AssumeRole without it, and with a wrong
 *    one, are refused (otherwise the trust policy does not guard against a confused deputy);
 * 3. the bucket is there, in the destination's region, owned by account_id, and listable under the
 *    prefix;
 * 4. a test object `<prefix>/_verify/<time>-<random>.txt` is written (with the KMS key when given:
 *    S3's answer must name it), a multipart upload is created and aborted (how large parts travel),
 *    the object is listed, deleted, and gone.
 */
import crypto from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { S3Client } from '@aws-sdk/client-s3';
import { config, type Config } from '../config';
import { errorMessage } from '../errors';
import { checkTarget, deliveryClient, destinationTarget, stsClient, targetError } from './client';
import type { Destination } from './destination';
import { destinationStore, type DestinationStore } from './store';

export interface VerifyCheck {
  check: string;
  ok: boolean;
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

export interface VerifyReport {
  destination: string;
  ok: boolean;
  checks: VerifyCheck[];
}

export interface VerifyOptions {
  config?: Config;
  store?: DestinationStore;
  sts?: STSClient;
  /** This account's credentials for a bucket_policy destination (tests). */
  s3?: S3Client;
  now?: Date;
}

const s3Error = (err: unknown) => {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return `${e.name ?? 'Error'}${e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : ''}: ${e.message ?? errorMessage(err)}`;
};

export async function verifyDestination(name: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const cfg = opts.config ?? config();
  const checks: VerifyCheck[] = [];
  const report = (): VerifyReport => ({ destination: name, ok: checks.every((c) => c.ok), checks });
  const store = opts.store ?? destinationStore(cfg);

  let destination: Destination | undefined;
  try {
    destination = await store.get(name);
  } catch (err) {
    checks.push({ check: 'record', ok: false, detail: errorMessage(err), fix: `correct the destination (${store.where})` });
    return report();
  }
  if (!destination) {
    checks.push({ check: 'record', ok: false, detail: `no destination named ${name} (${store.where})`, fix: 'add it: npm run destination -- add ...' });
    return report();
  }
  checks.push({ check: 'record', ok: true, detail: `valid (${store.where})` });
  const d = destination;
  const target = destinationTarget(d);
  const sts = opts.sts ?? stsClient(cfg);
  const delivery = deliveryClient(target, { config: cfg, s3: opts.s3, sts, sessionName: `sp-verify-${d.name}` });

  if (d.access.type === 'assume_role') {
    try {
      await delivery.credentials();
      checks.push({ check: 'assume role', ok: true, detail: `assumed ${d.access.role_arn} with the external ID` });
    } catch (err) {
      checks.push({
        check: 'assume role',
        ok: false,
        detail: errorMessage(err),
        fix: `in account ${d.account_id}, create ${d.access.role_arn} with the trust policy of \`npm run destination -- policy ${d.name}\``,
      });
      return report();
    }
    for (const [label, externalId] of [
      ['without the external ID', undefined],
      ['with a wrong external ID', `wrong-${crypto.randomBytes(6).toString('hex')}`],
    ] as const) {
      try {
        await sts.send(
          new AssumeRoleCommand({ RoleArn: d.access.role_arn, RoleSessionName: `sp-verify-${d.name}`.slice(0, 64), ExternalId: externalId, DurationSeconds: 900 }),
        );
        checks.push({
          check: `refused ${label}`,
          ok: false,
          detail: `the role can be assumed ${label}: its trust policy does not require the external ID, so anyone we act for could have us write there (the confused deputy)`,
          fix: `add "Condition": {"StringEquals": {"sts:ExternalId": "${d.access.external_id}"}} to the role's trust policy`,
        });
      } catch (err) {
        const code = (err as { name?: string }).name;
        const refused = code === 'AccessDenied' || code === 'AccessDeniedException';
        checks.push({
          check: `refused ${label}`,
          ok: refused,
          detail: refused ? 'AccessDenied, as the trust policy requires' : `unexpected answer: ${s3Error(err)}`,
        });
      }
    }
  }

  const prefix = d.prefix ?? 'transfer';
  try {
    await checkTarget(delivery, target, prefix, cfg);
    checks.push({ check: 'bucket owner', ok: true, detail: `s3://${d.bucket} is owned by ${d.account_id} and listable under ${prefix || '(the root)'}/` });
  } catch (err) {
    checks.push({
      check: 'bucket owner',
      ok: false,
      detail: errorMessage(targetError(err, target, cfg)),
      fix: `make sure s3://${d.bucket} exists in ${d.region}, belongs to ${d.account_id}, and allows s3:ListBucket on ${prefix ? `${prefix}/*` : 'the bucket'} (npm run destination -- policy ${d.name})`,
    });
    return report();
  }

  const now = opts.now ?? new Date();
  const key = `${prefix ? `${prefix}/` : ''}_verify/${now.toISOString().replace(/[-:.]/g, '')}-${crypto.randomBytes(4).toString('hex')}.txt`;
  const client = delivery.client;
  const objectArn = `arn:aws:s3:::${d.bucket}/${prefix ? `${prefix}/` : ''}*`;
  try {
    const put = await client.send(
      new PutObjectCommand({ Bucket: d.bucket, Key: key, Body: `shopping-patterns delivery check for ${d.name}; safe to delete\n`, ContentType: 'text/plain' }),
    );
    checks.push({ check: 'write', ok: true, detail: `wrote s3://${d.bucket}/${key}` });
    if (d.kms_key_arn) {
      const used = put.ServerSideEncryption === 'aws:kms' && put.SSEKMSKeyId === d.kms_key_arn;
      checks.push({
        check: 'encryption',
        ok: used,
        detail: used
          ? `SSE-KMS with ${d.kms_key_arn}`
          : `S3 answered ${put.ServerSideEncryption ?? 'no encryption'} with key ${put.SSEKMSKeyId ?? 'none'}, not ${d.kms_key_arn}`,
      });
    }
  } catch (err) {
    checks.push({
      check: 'write',
      ok: false,
      detail: s3Error(err),
      fix:
        `allow s3:PutObject on ${objectArn}` +
        (d.kms_key_arn ? `, and kms:GenerateDataKey and kms:Decrypt on ${d.kms_key_arn} (its key policy)` : '') +
        ` (npm run destination -- policy ${d.name})`,
    });
    return report();
  }

  const tryStep = async (check: string, fix: string, step: () => Promise<string>) => {
    try {
      checks.push({ check, ok: true, detail: await step() });
      return true;
    } catch (err) {
      checks.push({ check, ok: false, detail: s3Error(err), fix });
      return false;
    }
  };
  await tryStep('multipart', `allow s3:PutObject and s3:AbortMultipartUpload on ${objectArn}${d.kms_key_arn ? ', and kms:Decrypt on the key' : ''}`, async () => {
    const mpuKey = `${key}.multipart`;
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket: d.bucket, Key: mpuKey }));
    await client.send(new AbortMultipartUploadCommand({ Bucket: d.bucket, Key: mpuKey, UploadId: created.UploadId }));
    return 'created and aborted a multipart upload (the transfer streams large parts this way)';
  });
  const listPrefix = key.slice(0, key.lastIndexOf('/') + 1);
  const listed = async () =>
    ((await client.send(new ListObjectsV2Command({ Bucket: d.bucket, Prefix: listPrefix }))).Contents ?? []).some((o) => o.Key === key);
  await tryStep('list', `allow s3:ListBucket on arn:aws:s3:::${d.bucket} for the prefix ${prefix}/`, async () => {
    if (!(await listed())) throw new Error(`the test object is not listed under ${listPrefix}`);
    return `listed under ${listPrefix}`;
  });
  const deleted = await tryStep('delete', `allow s3:DeleteObject on ${objectArn}; remove s3://${d.bucket}/${key} by hand`, async () => {
    await client.send(new DeleteObjectCommand({ Bucket: d.bucket, Key: key }));
    return `deleted s3://${d.bucket}/${key}`;
  });
  if (deleted) {
    await tryStep('removed', `remove s3://${d.bucket}/${key} by hand`, async () => {
      if (await listed()) throw new Error('the test object is still listed after its deletion');
      return 'the test object is gone';
    });
  }
  return report();
}
