/**
 * What the stakeholder creates in their account, as policy documents filled in for one destination
 * (`npm run destination -- policy NAME`; docs/TRANSFER.md shows the same with placeholders).
 *
 * Our principal is the transfer function's role, which has a fixed name
 * (`shopping-patterns-<stage>-<region>-transfer`, serverless.yml). The trust policy names our
 * account as principal and the role in an `aws:PrincipalArn` condition, rather than the role ARN as
 * principal: IAM stores a role principal as the role's unique id, so a role principal breaks when our
 * stack is removed and deployed again, while the condition keeps matching the role by name.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
 * The external ID condition is the confused-deputy guard.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html
 *
 * The permissions are what a transfer sends: PutObject (and the multipart upload it streams with),
 * AbortMultipartUpload (a failed run cleans up), DeleteObject (a failed run deletes its parts, a rerun
 * the old ones), ListBucket on the delivery prefix only (the owner check, stale parts of a rerun).
 */
import type { Destination } from './destination';

export interface OurSide {
  accountId: string;
  stage: string;
  region: string;
  partition?: string;
}

export function transferRoleName(stage: string, region: string): string {
  return `shopping-patterns-${stage}-${region}-transfer`;
}

export function transferRoleArn(ours: OurSide): string {
  return `arn:${ours.partition ?? 'aws'}:iam::${ours.accountId}:role/${transferRoleName(ours.stage, ours.region)}`;
}

type Statement = Record<string, unknown>;
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

const prefixOf = (d: Pick<Destination, 'prefix'>) => d.prefix ?? 'transfer';

function objects(d: Pick<Destination, 'bucket' | 'prefix'>): string {
  const p = prefixOf(d);
  return `arn:aws:s3:::${d.bucket}/${p ? `${p}/` : ''}*`;
}

function listing(d: Pick<Destination, 'bucket' | 'prefix'>): Statement {
  const p = prefixOf(d);
  return {
    Sid: 'ListTheDeliveryPrefix',
    Effect: 'Allow',
    Action: 's3:ListBucket',
    Resource: `arn:aws:s3:::${d.bucket}`,
    ...(p ? { Condition: { StringLike: { 's3:prefix': [`${p}/*`] } } } : {}),
  };
}

/** The role's trust policy (assume_role): our transfer role, with the external ID. */
export function trustPolicy(ours: OurSide, externalId: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ShoppingPatternsDelivery',
        Effect: 'Allow',
        Principal: { AWS: `arn:${ours.partition ?? 'aws'}:iam::${ours.accountId}:root` },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'sts:ExternalId': externalId },
          ArnEquals: { 'aws:PrincipalArn': transferRoleArn(ours) },
        },
      },
    ],
  };
}

/** The role's permissions policy (assume_role): write and list the delivery prefix; the KMS key when given. */
export function rolePolicy(d: Pick<Destination, 'bucket' | 'prefix' | 'kms_key_arn'>): PolicyDocument {
  const statements: Statement[] = [
    {
      Sid: 'WriteTheDeliveryPrefix',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
      Resource: objects(d),
    },
    listing(d),
  ];
  if (d.kms_key_arn) {
    // a multipart upload to SSE-KMS needs Decrypt as well https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
    statements.push({ Sid: 'EncryptWithTheKey', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: d.kms_key_arn });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The bucket policy (bucket_policy access): our transfer role may write and list the prefix. With
 * Object Ownership "bucket owner enforced" (recommended) the stakeholder owns every object; on a
 * bucket that still has ACLs, the last statement refuses any write that does not give them full
 * control (every write of ours carries bucket-owner-full-control).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies-condition-keys.html
 */
export function bucketPolicy(ours: OurSide, d: Pick<Destination, 'bucket' | 'prefix'>): PolicyDocument {
  const principal = {
    Principal: { AWS: `arn:${ours.partition ?? 'aws'}:iam::${ours.accountId}:root` },
  };
  const onlyOurRole = { ArnEquals: { 'aws:PrincipalArn': transferRoleArn(ours) } };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ShoppingPatternsDeliveryWrite',
        Effect: 'Allow',
        ...principal,
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
        Resource: objects(d),
        Condition: onlyOurRole,
      },
      {
        Sid: 'ShoppingPatternsDeliveryList',
        Effect: 'Allow',
        ...principal,
        Action: 's3:ListBucket',
        Resource: `arn:aws:s3:::${d.bucket}`,
        Condition: { ...onlyOurRole, ...(prefixOf(d) ? { StringLike: { 's3:prefix': [`${prefixOf(d)}/*`] } } : {}) },
      },
      {
        Sid: 'ShoppingPatternsDeliveryOwnership',
        Effect: 'Deny',
        ...principal,
        Action: 's3:PutObject',
        Resource: objects(d),
        Condition: { ...onlyOurRole, StringNotEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
      },
    ],
  };
}

/** The key policy statement for a KMS key our role uses through S3 (bucket_policy access). */
export function keyPolicyStatement(ours: OurSide, d: Pick<Destination, 'region'>): Statement {
  return {
    Sid: 'ShoppingPatternsDeliveryEncrypt',
    Effect: 'Allow',
    Principal: { AWS: `arn:${ours.partition ?? 'aws'}:iam::${ours.accountId}:root` },
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    Resource: '*',
    Condition: {
      ArnEquals: { 'aws:PrincipalArn': transferRoleArn(ours) },
      StringEquals: { 'kms:ViaService': `s3.${d.region}.amazonaws.com` },
    },
  };
}

/** Everything the stakeholder creates for this destination, with a sentence each. */
export function stakeholderSetup(ours: OurSide, d: Destination): Array<{ title: string; document: PolicyDocument | Statement }> {
  if (d.access.type === 'assume_role') {
    const role = /role\/(.+)$/.exec(d.access.role_arn)?.[1] ?? d.access.role_arn;
    return [
      { title: `Trust policy of the role ${role} in account ${d.account_id}`, document: trustPolicy(ours, d.access.external_id) },
      { title: `Permissions policy of the role ${role}`, document: rolePolicy(d) },
    ];
  }
  const out: Array<{ title: string; document: PolicyDocument | Statement }> = [
    { title: `Bucket policy of s3://${d.bucket} (account ${d.account_id})`, document: bucketPolicy(ours, d) },
  ];
  if (d.kms_key_arn) out.push({ title: `Key policy statement to add to ${d.kms_key_arn}`, document: keyPolicyStatement(ours, d) });
  return out;
}
