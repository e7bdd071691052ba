/**
 * The one configuration module. Read from the environment once (at cold start), validated with zod,
 * and a misconfiguration names the variable that is missing or malformed.
 *
 * The local stage needs no configuration at all: every value has an embedded default.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors';
import { projectRoot } from './paths';
import { DEFAULT_DATASETS } from './datasets';

/** Key-to-dataset routing: the first route whose pattern matches the (decoded) key wins. */
export interface Route {
  dataset: string;
  pattern: RegExp;
}

/** Default routing: the key pattern of each declared dataset (shared/datasets/), in order. */
export const DEFAULT_ROUTES: ReadonlyArray<{ dataset: string; pattern: string }> = DEFAULT_DATASETS.map((d) => ({
  dataset: d.name,
  pattern: d.keyPattern,
}));

/** The account the local stack plays (as LocalStack does): it owns the local buckets. */
export const LOCAL_ACCOUNT_ID = '000000000000';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();

const routesSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON: [{"dataset": "...", "pattern": "regex"}]' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(
        z.object({
          dataset: z.enum(DEFAULT_DATASETS.map((d) => d.name) as [string, ...string[]]),
          pattern: z.string().refine(isRegex, { message: 'is not a valid regular expression' }),
        }),
      )
      .min(1),
  );

function isRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const envSchema = z.object({
  STAGE: z.enum(['local', 'dev', 'prod']).default('local'),
  AWS_REGION: z.string().min(1).default('eu-west-2'),
  LANDING_BUCKET: z.string().min(3).optional(),
  EXPORTS_BUCKET: z.string().min(3).optional(),
  /** Only the local stage talks to an S3-compatible endpoint; AWS stages use the regional endpoint. */
  S3_ENDPOINT: z.url().optional(),
  LOCAL_S3_PORT: positiveInt.max(65535).default(4566),
  INGEST_QUEUE_URL: z.string().optional(),
  INGEST_DLQ_URL: z.string().optional(),
  INGEST_BATCH_SIZE: positiveInt.max(10000).default(10),
  INGEST_MAX_RECEIVE_COUNT: positiveInt.default(5),
  INGEST_VISIBILITY_TIMEOUT_SECONDS: positiveInt.default(900),
  /** A line (or CSV record) longer than this fails its file (docs/ARCHITECTURE.md §5, bounded reading). */
  INGEST_MAX_LINE_BYTES: positiveInt.default(1024 * 1024),
  /** More decompressed bytes than this fail the file. */
  INGEST_MAX_FILE_BYTES: positiveInt.default(2 * 1024 * 1024 * 1024),
  /** A snapshot with fewer rows than this share of the live one is held for an operator (0: off). */
  INGEST_SNAPSHOT_MIN_RATIO: z.coerce.number().min(0).max(1).default(0.5),
  /** A snapshot from another key than the live one is held for an operator. */
  INGEST_SNAPSHOT_HOLD_NEW_KEY: bool.default(true),
  /** Ingest stops taking work when the function has fewer seconds than this left. */
  INGEST_DEADLINE_RESERVE_SECONDS: positiveInt.default(60),
  /** DuckDB path: worker threads that judge the lines (0: on the ingest's own thread). Default: the cores, at most 4. */
  INGEST_JUDGE_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  DATASET_ROUTES: routesSchema.optional(),
  WAREHOUSE_ENGINE: z.enum(['duckdb', 'snowflake']).optional(),
  DUCKDB_PATH: z.string().min(1).optional(),
  SNOWFLAKE_ACCOUNT: z.string().min(1).optional(),
  SNOWFLAKE_USER: z.string().min(1).optional(),
  SNOWFLAKE_ROLE: z.string().min(1).optional(),
  SNOWFLAKE_WAREHOUSE: z.string().min(1).optional(),
  SNOWFLAKE_DATABASE: z.string().min(1).default('SHOPPING_PATTERNS'),
  /** Secrets Manager ARN of the JSON secret holding the key pair (and optionally account/user). */
  SNOWFLAKE_SECRET_ARN: z.string().min(1).optional(),
  /**
   * An operator's own key, for CLI runs from a workstation (the one-off admin setup, migrate, the ops
   * commands): a PKCS#8 PEM file, or its text, and the passphrase of an encrypted key. Never in Lambda,
   * where a function's environment is readable by anyone who may read its configuration.
   */
  SNOWFLAKE_PRIVATE_KEY_PATH: z.string().min(1).optional(),
  SNOWFLAKE_PRIVATE_KEY: z.string().min(1).optional(),
  SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: z.string().optional(),
  /** Set by the Lambda runtime (and by `sls invoke local`, with IS_LOCAL). */
  AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
  IS_LOCAL: z.string().optional(),
  /** For tests and the loopback fake only: full URL of the Snowflake endpoint. */
  SNOWFLAKE_ACCESS_URL: z.url().optional(),
  SNOWFLAKE_STAGE: z.string().min(1).default('RAW.LANDING_STAGE'),
  SNOWFLAKE_EXPORT_STAGE: z.string().min(1).default('RAW.EXPORT_STAGE'),
  /** Per-statement deadline of the Snowflake adapter; keep it below the function's timeout. */
  SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS: positiveInt.max(172800).optional(),
  INGEST_MODE: z.enum(['copy', 'pipe']).default('copy'),
  SCHEDULE_REBUILD: z.string().min(1).default('cron(0 6 ? * MON *)'),
  FRESHNESS_MAX_AGE_HOURS: z.coerce.number().positive().default(24),
  FRESHNESS_SEVERITY: z.enum(['warn', 'error']).optional(),
  EXPORT_PSEUDONYMISE: bool.default(false),
  EXPORT_SALT_SECRET_ARN: z.string().min(1).optional(),
  EXPORT_SALT: z.string().min(16).optional(),
  TRANSFER_ALLOWED_BUCKETS: z.string().optional(),
  LOCAL_DIR: z.string().min(1).default('.local'),
  /**
   * Stakeholder delivery (shared/delivery/, docs/TRANSFER.md). The account this stage runs in: the owner
   * every bucket of our own (TRANSFER_ALLOWED_BUCKETS) must have; serverless.yml sets it from
   * AWS::AccountId. Unset on a workstation: STS GetCallerIdentity answers it. Local: 000000000000.
   */
  ACCOUNT_ID: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
  /** Only the local stage talks to a loopback STS (the local stack's, for assuming destination roles). */
  STS_ENDPOINT: z.url().optional(),
  LOCAL_STS_PORT: positiveInt.max(65535).default(4568),
  /** Destinations from a JSON file (the local default: <LOCAL_DIR>/destinations.json) ... */
  DESTINATIONS_FILE: z.string().min(1).optional(),
  /** ... or from SSM Parameter Store, one String parameter per destination under this path (AWS stages). */
  DESTINATIONS_PARAMETER_PATH: z
    .string()
    .regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'must be an SSM parameter path such as /shopping-patterns/dev/destinations')
    .optional(),
  /** Destination roles must be named with this prefix: the transfer role may assume only those (serverless.yml). */
  DELIVERY_ROLE_NAME_PREFIX: z
    .string()
    .regex(/^[\w+=,.@-]{1,40}$/, 'must be the start of an IAM role name')
    .default('shopping-patterns-delivery-'),
  /** The function that runs transfers (the API's and the dispatcher's backend). */
  TRANSFER_FUNCTION_NAME: z.string().min(1).optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  stage: Env['STAGE'];
  region: string;
  buckets: { landing: string; exports: string };
  s3Endpoint: string | undefined;
  queue: {
    url: string | undefined;
    dlqUrl: string | undefined;
    batchSize: number;
    maxReceiveCount: number;
    visibilityTimeoutSeconds: number;
  };
  ingest: {
    limits: { maxLineBytes: number; maxFileBytes: number };
    guard: { minRatio: number; holdNewKey: boolean };
    reserveMs: number;
    /** Worker threads judging lines on the DuckDB path (0: the calling thread). */
    judgeThreads: number;
  };
  routes: Route[];
  warehouse:
    | { engine: 'duckdb'; path: string }
    | {
        engine: 'snowflake';
        account: string | undefined;
        user: string | undefined;
        role: string | undefined;
        /** The Snowflake virtual warehouse (compute) the session uses. */
        computeWarehouse: string | undefined;
        database: string;
        secretArn: string | undefined;
        accessUrl: string | undefined;
        /** The external stage on the landing bucket, `schema.stage`. */
        landingStage: string;
        exportStage: string;
        ingestMode: 'copy' | 'pipe';
        statementTimeoutSeconds?: number;
      };
  schedule: { rebuild: string };
  freshness: { maxAgeHours: number; severity: 'warn' | 'error' };
  export: { pseudonymise: boolean; saltSecretArn: string | undefined; salt: string | undefined };
  transfer: { allowedBuckets: string[] | undefined };
  delivery: {
    /** This stage's AWS account; undefined on an AWS stage without ACCOUNT_ID (ask STS). */
    accountId: string | undefined;
    stsEndpoint: string | undefined;
    /** Where destinations are kept: a file (local, or DESTINATIONS_FILE) or an SSM parameter path. */
    store: { kind: 'file'; path: string } | { kind: 'ssm'; path: string };
    rolePrefix: string;
    transferFunction: string;
  };
  localDir: string;
}

/** Parse and validate an environment. Throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const value = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
      return `${name}: ${issue.message}${value === undefined ? ' (not set)' : ''}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const local = e.STAGE === 'local';
  const missing: string[] = [];
  const need = (name: keyof Env, value: string | undefined, fallback?: string): string => {
    if (value !== undefined) return value;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  };

  const engine = e.WAREHOUSE_ENGINE ?? (local ? 'duckdb' : 'snowflake');
  // relative to the project root, not the working directory (`sls invoke local` runs from .esbuild/)
  const localDir = path.resolve(projectRoot(), e.LOCAL_DIR);
  const config: Config = {
    stage: e.STAGE,
    region: e.AWS_REGION,
    buckets: {
      landing: need('LANDING_BUCKET', e.LANDING_BUCKET, local ? 'landing' : undefined),
      exports: need('EXPORTS_BUCKET', e.EXPORTS_BUCKET, local ? 'exports' : undefined),
    },
    s3Endpoint: e.S3_ENDPOINT ?? (local ? `http://127.0.0.1:${e.LOCAL_S3_PORT}` : undefined),
    queue: {
      url: e.INGEST_QUEUE_URL,
      dlqUrl: e.INGEST_DLQ_URL,
      batchSize: e.INGEST_BATCH_SIZE,
      maxReceiveCount: e.INGEST_MAX_RECEIVE_COUNT,
      visibilityTimeoutSeconds: e.INGEST_VISIBILITY_TIMEOUT_SECONDS,
    },
    ingest: {
      limits: { maxLineBytes: e.INGEST_MAX_LINE_BYTES, maxFileBytes: e.INGEST_MAX_FILE_BYTES },
      guard: { minRatio: e.INGEST_SNAPSHOT_MIN_RATIO, holdNewKey: e.INGEST_SNAPSHOT_HOLD_NEW_KEY },
      reserveMs: e.INGEST_DEADLINE_RESERVE_SECONDS * 1000,
      judgeThreads: e.INGEST_JUDGE_THREADS ?? Math.min(4, os.availableParallelism()),
    },
    routes: (e.DATASET_ROUTES ?? DEFAULT_ROUTES).map((r) => ({ dataset: r.dataset, pattern: new RegExp(r.pattern) })),
    warehouse:
      engine === 'duckdb'
        ? { engine, path: path.resolve(projectRoot(), e.DUCKDB_PATH ?? path.join(localDir, 'warehouse.duckdb')) }
        : {
            engine,
            // account and user may instead come from the secret; the adapter checks after reading it
            account: e.SNOWFLAKE_ACCOUNT,
            user: e.SNOWFLAKE_USER,
            role: e.SNOWFLAKE_ROLE,
            computeWarehouse: e.SNOWFLAKE_WAREHOUSE,
            database: e.SNOWFLAKE_DATABASE,
            secretArn: e.SNOWFLAKE_SECRET_ARN,
            accessUrl: e.SNOWFLAKE_ACCESS_URL,
            landingStage: e.SNOWFLAKE_STAGE,
            exportStage: e.SNOWFLAKE_EXPORT_STAGE,
            ingestMode: e.INGEST_MODE,
            statementTimeoutSeconds: e.SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS,
          },
    schedule: { rebuild: e.SCHEDULE_REBUILD },
    freshness: {
      maxAgeHours: e.FRESHNESS_MAX_AGE_HOURS,
      severity: e.FRESHNESS_SEVERITY ?? (e.STAGE === 'prod' ? 'error' : 'warn'),
    },
    export: { pseudonymise: e.EXPORT_PSEUDONYMISE, saltSecretArn: e.EXPORT_SALT_SECRET_ARN, salt: e.EXPORT_SALT },
    transfer: {
      allowedBuckets: e.TRANSFER_ALLOWED_BUCKETS?.split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    },
    delivery: {
      accountId: e.ACCOUNT_ID ?? (local ? LOCAL_ACCOUNT_ID : undefined),
      stsEndpoint: e.STS_ENDPOINT ?? (local ? `http://127.0.0.1:${e.LOCAL_STS_PORT}` : undefined),
      store:
        e.DESTINATIONS_FILE || local
          ? { kind: 'file', path: path.resolve(projectRoot(), e.DESTINATIONS_FILE ?? path.join(localDir, 'destinations.json')) }
          : { kind: 'ssm', path: e.DESTINATIONS_PARAMETER_PATH ?? `/shopping-patterns/${e.STAGE}/destinations` },
      rolePrefix: e.DELIVERY_ROLE_NAME_PREFIX,
      transferFunction: e.TRANSFER_FUNCTION_NAME ?? `shopping-patterns-${e.STAGE}-transfer`,
    },
    localDir,
  };
  if (engine === 'snowflake') snowflakeKeySource(e, missing);
  if (missing.length > 0) {
    throw new ConfigError(
      `invalid configuration for stage ${e.STAGE}:\n  ${missing.map((m) => `${m}: required (not set)`).join('\n  ')}`,
    );
  }
  return config;
}

/**
 * Where the Snowflake key comes from. In Lambda only a Secrets Manager secret; on a workstation the
 * secret or an operator's key file (SNOWFLAKE_PRIVATE_KEY_PATH), never both. Outside Lambda none is
 * required up front: commands that never log in to Snowflake (redrive without the ledger, dry runs) run
 * without one, and the first login names the variables (shared/secrets.ts).
 */
function snowflakeKeySource(e: Env, missing: string[]): void {
  const inLambda = Boolean(e.AWS_LAMBDA_FUNCTION_NAME) && !e.IS_LOCAL;
  const localKey = e.SNOWFLAKE_PRIVATE_KEY_PATH ? 'SNOWFLAKE_PRIVATE_KEY_PATH' : e.SNOWFLAKE_PRIVATE_KEY ? 'SNOWFLAKE_PRIVATE_KEY' : undefined;
  if (inLambda) {
    if (localKey) {
      throw new ConfigError(
        `invalid configuration for stage ${e.STAGE}:\n  ${localKey}: not allowed in Lambda (a function's environment is readable by whoever may read its configuration); use SNOWFLAKE_SECRET_ARN`,
      );
    }
    if (!e.SNOWFLAKE_SECRET_ARN) missing.push('SNOWFLAKE_SECRET_ARN');
    return;
  }
  if (localKey && e.SNOWFLAKE_SECRET_ARN) {
    throw new ConfigError(
      `invalid configuration for stage ${e.STAGE}:\n  SNOWFLAKE_SECRET_ARN and ${localKey} are both set: unset one, so it is clear which key logs in`,
    );
  }
}

let cached: Config | undefined;

/** The process-wide configuration, validated once. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** For tests and the local stack, which set the environment before first use. */
export function resetConfig(): void {
  cached = undefined;
}
