/**
 * A destination: a named place in a stakeholder's AWS account where transfers deliver, and how we
 * may write there. Destinations are data (./store.ts: SSM Parameter Store on AWS, a JSON file
 * locally), validated here whenever they are read, so adding or removing one needs no deploy.
 *
 *   {
 *     "name": "acme",
 *     "bucket": "acme-shopping-drop", "region": "eu-west-2", "account_id": "111122223333",
 *     "access": { "type": "assume_role",
 *                 "role_arn": "arn:aws:iam::111122223333:role/shopping-patterns-delivery-acme",
 *                 "external_id": "5f0c..." },
 *     "kms_key_arn": "arn:aws:kms:eu-west-2:111122223333:key/...",       optional: SSE-KMS with their key
 *     "prefix": "shopping", "format": "csv.gz",                            optional: fixed for every run
 *     "columns": [...], "pseudonymise": ["CUSTOMER_ID"],                   optional
 *     "schedule": { "cron": "cron(0 6 ? * MON *)", "source_table": "..." } optional: a recurring delivery
 *   }
 *
 * `access`:
 * - `assume_role`: we assume a role in the stakeholder's account, presenting the external ID its
 *   trust policy requires (AWS's answer to the confused-deputy problem:
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). The role belongs to the
 *   bucket owner's account, so what it writes is theirs under every Object Ownership setting; its
 *   name starts with the delivery prefix (DELIVERY_ROLE_NAME_PREFIX), the only roles our transfer
 *   role may assume (serverless.yml).
 * - `bucket_policy`: our transfer role writes, allowed by the stakeholder's bucket policy; every
 *   object is written with the bucket-owner-full-control canned ACL so the bucket owner owns it or
 *   has full control (./client.ts).
 * Either way every request carries ExpectedBucketOwner = account_id.
 */
import { z } from 'zod';
import { OUTPUT_FORMATS } from '../publish/types';
import { BUCKET_NAME, PREFIX_RULE } from '../transfer/names';
import { cronProblem } from './cron';

/** A destination name: also an SSM parameter name segment and part of a scheduled run id. */
export const DESTINATION_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d$/;
/** https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html (RoleName, Path) */
export const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;
/** AssumeRole's ExternalId: 2-1224 of letters, digits and _+=,.@:/- https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html */
export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
/**
 * A key ARN, not an alias: SSE-KMS with a key of another account must name the key by its ARN.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html
 */
const KMS_KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]{1,128}$/;
const COLUMN = z.string().min(1).max(255);

const accessSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('assume_role'),
      role_arn: z.string().regex(ROLE_ARN, 'must be an IAM role ARN, arn:aws:iam::<account>:role/<name>'),
      external_id: z.string().regex(EXTERNAL_ID, 'must be 2-1224 letters, digits or _+=,.@:/-'),
    })
    .strict(),
  z.object({ type: z.literal('bucket_policy') }).strict(),
]);

const scheduleSchema = z
  .object({
    /** EventBridge cron, UTC. */
    cron: z.string().superRefine((v, ctx) => {
      const problem = cronProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    source_table: z.string().min(1),
    date_column: COLUMN.optional(),
    sum_columns: z.array(COLUMN).optional(),
    group_columns: z.array(COLUMN).optional(),
  })
  .strict();

/** The schema of a destination; the role's name must start with `rolePrefix`. */
export function destinationSchema(rolePrefix: string) {
  return z
    .object({
      name: z.string().regex(DESTINATION_NAME, 'must be 1-63 lowercase letters, digits and hyphens'),
      description: z.string().max(500).optional(),
      bucket: z.string().regex(BUCKET_NAME, 'must be a valid S3 bucket name'),
      region: z.string().regex(REGION, 'must be an AWS region such as eu-west-2'),
      account_id: z.string().regex(ACCOUNT_ID, "must be the bucket owner's 12-digit account id"),
      access: accessSchema,
      kms_key_arn: z.string().regex(KMS_KEY_ARN, 'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias').optional(),
      prefix: z
        .string()
        .refine((p) => p === '' || PREFIX_RULE(p), { message: 'must be /-separated segments of letters, digits, _ . = $ -' })
        .optional(),
      format: z.enum(OUTPUT_FORMATS).optional(),
      columns: z.array(COLUMN).min(1).optional(),
      pseudonymise: z.array(COLUMN).optional(),
      schedule: scheduleSchema.optional(),
    })
    .strict()
    .superRefine((d, ctx) => {
      // zod runs this even when a field failed above: read only what is well-formed
      const arn = d.access?.type === 'assume_role' ? ROLE_ARN.exec(d.access.role_arn ?? '') : null;
      if (arn) {
        if (arn[2] !== d.account_id) {
          ctx.addIssue({
            code: 'custom',
            path: ['access', 'role_arn'],
            message: `the role must be in the bucket owner's account ${d.account_id} (so what it writes is theirs), not ${arn[2]}`,
          });
        }
        if (!arn[4]!.startsWith(rolePrefix)) {
          ctx.addIssue({
            code: 'custom',
            path: ['access', 'role_arn'],
            message: `the role's name must start with ${rolePrefix}: the transfer role may assume only those roles`,
          });
        }
      }
      const key = KMS_KEY_ARN.exec(d.kms_key_arn ?? '');
      if (key) {
        // SSE-KMS needs the key in the bucket's region https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
        if (key[2] !== d.region) {
          ctx.addIssue({ code: 'custom', path: ['kms_key_arn'], message: `the key must be in the bucket's region ${d.region}, not ${key[2]}` });
        }
      }
    });
}

export type Destination = z.output<ReturnType<typeof destinationSchema>>;
export type DestinationAccess = Destination['access'];
export type DestinationSchedule = NonNullable<Destination['schedule']>;
