/**
 * The transfer request: the Lambda event, the CLI flags and the library call share this one schema.
 *
 *   { "source_table": "ORDERS_100K", "destination_s3_bucket": "exports", ...options }
 *
 * Unknown keys are rejected (a typo such as `date_colum` must not be silently ignored).
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from '../errors';
import { OUTPUT_FORMATS } from '../publish/types';
import { formatIssues } from '../zod-issues';

/** S3 bucket naming rules (general purpose buckets). https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html */
const BUCKET =
  /^(?!xn--|sthree-|amzn-s3-demo-)(?!.*(-s3alias|--ol-s3|--x-s3|--table-s3)$)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const COLUMN = z.string().min(1).max(255);
/** Run ids become a key segment: letters, digits, `_ . -`. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const PREFIX = /^([A-Za-z0-9_.=$-]{1,200})(\/[A-Za-z0-9_.=$-]{1,200})*$/;

export const transferRequestSchema = z
  .object({
    source_table: z.string().min(1, 'source_table is required'),
    destination_s3_bucket: z
      .string()
      .regex(BUCKET, 'must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)')
      .refine((b) => !b.includes('..'), 'must be a valid S3 bucket name'),
    /** Keep only these columns in the output (the month key always stays). Default: every column. */
    columns: z.array(COLUMN).min(1, 'name at least one column, or leave columns out for all').optional(),
    /** The month key; default: the first date/timestamp column (among the kept ones). */
    date_column: COLUMN.optional(),
    /** Sum exactly these numeric columns (others are grouped). Default: every numeric column. */
    sum_columns: z.array(COLUMN).optional(),
    /** Group these as they are, even if numeric or dates. */
    group_columns: z.array(COLUMN).optional(),
    format: z.enum(OUTPUT_FORMATS).default('jsonl.gz'),
    /** Key prefix before `<table>/<run_id>/`; '' for none. */
    prefix: z
      .string()
      .transform((p) => p.replace(/^\/+|\/+$/g, ''))
      .refine((p) => p === '' || (PREFIX.test(p) && !p.split('/').some((s) => s === '.' || s === '..')), {
        message: 'must be /-separated segments of letters, digits, _ . = $ -',
      })
      .default('transfer'),
    /** Columns replaced by keyed HMAC-SHA256 digests (stream mode). */
    pseudonymise: z.array(COLUMN).optional(),
    /** `stream` (default): through this process. `unload`: Snowflake writes the files itself. */
    mode: z.enum(['stream', 'unload']).default('stream'),
    /** Fix the run id for a deterministic, repeatable key set; default: UTC timestamp + random. */
    run_id: z.string().regex(RUN_ID, 'must be letters, digits, _ . - (max 100)').optional(),
    /** Unload mode: Snowflake's MAX_FILE_SIZE in bytes (default 256 MB). */
    max_file_size: z
      .number()
      .int()
      .positive()
      .max(5 * 1024 ** 3)
      .optional(),
  })
  .strict();

export type TransferRequest = z.input<typeof transferRequestSchema>;
export type ParsedTransferRequest = z.output<typeof transferRequestSchema>;

/** Validate a request; every problem is named in one InvalidInputError. */
export function parseTransferRequest(input: unknown): ParsedTransferRequest {
  const parsed = transferRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidInputError(`invalid transfer request:\n  ${formatIssues(parsed.error, '(request)', '\n  ')}`);
  }
  return parsed.data;
}

/** `20240131T235959Z-3f9a1c`: sorts by time, unique enough for concurrent runs. */
export function newTransferRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}
