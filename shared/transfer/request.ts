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
import { BUCKET_NAME, PREFIX_RULE, RUN_ID } from './names';

const COLUMN = z.string().min(1).max(255);
const DESTINATION = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The request's fields without their defaults: a destination (shared/delivery) may fix some of them
 * (format, prefix, columns, ...), and only an explicit value may contradict it.
 */
const fields = {
  source_table: z.string().min(1, 'source_table is required'),
  /** A named destination (shared/delivery): its bucket, owner, role, key and fixed options. */
  destination: z.string().regex(DESTINATION, 'must be a destination name (lowercase letters, digits, hyphens)').optional(),
  destination_s3_bucket: z
    .string()
    .regex(BUCKET_NAME, 'must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)')
    .optional(),
  /** Keep only these columns in the output (the month key always stays). Default: every column. */
  columns: z.array(COLUMN).min(1, 'name at least one column, or leave columns out for all').optional(),
  /** The month key; default: the first date/timestamp column (among the kept ones). */
  date_column: COLUMN.optional(),
  /** Sum exactly these numeric columns (others are grouped). Default: every numeric column. */
  sum_columns: z.array(COLUMN).optional(),
  /** Group these as they are, even if numeric or dates. */
  group_columns: z.array(COLUMN).optional(),
  format: z.enum(OUTPUT_FORMATS).optional(),
  /** Key prefix before `<table>/<run_id>/`; '' for none. */
  prefix: z
    .string()
    .transform((p) => p.replace(/^\/+|\/+$/g, ''))
    .refine((p) => p === '' || PREFIX_RULE(p), {
      message: 'must be /-separated segments of letters, digits, _ . = $ -',
    })
    .optional(),
  /** Columns replaced by keyed HMAC-SHA256 digests (stream mode). */
  pseudonymise: z.array(COLUMN).optional(),
  /** `stream` (default): through this process. `unload`: Snowflake writes the files itself. */
  mode: z.enum(['stream', 'unload']).optional(),
  /** Fix the run id for a deterministic, repeatable key set; default: UTC timestamp + random. */
  run_id: z.string().regex(RUN_ID, 'must be letters, digits, _ . - (max 100)').optional(),
  /** Unload mode: Snowflake's MAX_FILE_SIZE in bytes (default 256 MB). */
  max_file_size: z
    .number()
    .int()
    .positive()
    .max(5 * 1024 ** 3)
    .optional(),
};

const bucketOrDestination = (r: { destination?: string; destination_s3_bucket?: string }, ctx: z.RefinementCtx) => {
  if (r.destination === undefined && r.destination_s3_bucket === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['destination_s3_bucket'],
      message: 'name a destination (destination) or a bucket (destination_s3_bucket)',
    });
  }
};

/** A request as given: validated, nothing filled in (what a destination is merged with). */
export const transferRequestInputSchema = z.object(fields).strict().superRefine(bucketOrDestination);

/** A request with its defaults filled in: what a transfer runs. */
export const transferRequestSchema = z
  .object({
    ...fields,
    format: fields.format.default('jsonl.gz'),
    prefix: fields.prefix.default('transfer'),
    mode: fields.mode.default('stream'),
  })
  .strict()
  .superRefine(bucketOrDestination);

export type TransferRequest = z.input<typeof transferRequestSchema>;
export type TransferRequestInput = z.output<typeof transferRequestInputSchema>;
/** A request ready to run: a bucket always (a destination's, when it names one). */
export type ParsedTransferRequest = z.output<typeof transferRequestSchema> & { destination_s3_bucket: string };

/** Validate a request as given (no defaults); every problem is named in one InvalidInputError. */
export function parseTransferRequestInput(input: unknown): TransferRequestInput {
  const parsed = transferRequestInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidInputError(`invalid transfer request:\n  ${formatIssues(parsed.error, '(request)', '\n  ')}`);
  }
  return parsed.data;
}

/**
 * Validate a request that names its bucket and fill in the defaults; every problem is named in one
 * InvalidInputError. (A request naming a destination is resolved first: shared/delivery/resolve.ts.)
 */
export function parseTransferRequest(input: unknown): ParsedTransferRequest {
  const parsed = transferRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidInputError(`invalid transfer request:\n  ${formatIssues(parsed.error, '(request)', '\n  ')}`);
  }
  if (parsed.data.destination_s3_bucket === undefined) {
    throw new InvalidInputError('invalid transfer request: no destination_s3_bucket (resolve the destination first)');
  }
  return parsed.data as ParsedTransferRequest;
}

/** `20240131T235959Z-3f9a1c`: sorts by time, unique enough for concurrent runs. */
export function newTransferRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}
