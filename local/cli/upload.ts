/**
 * npm run upload -- DIR [--prefix P] [--stage local|dev] [--concurrency N]
 *
 * Uploads a folder (e.g. the output of `npm run generate`) to the landing bucket; every object
 * created there is ingested. Keys are the paths relative to DIR, under the prefix.
 */
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../../shared/config';
import { ConfigError, InvalidInputError } from '../../shared/errors';
import { createS3Client } from '../../shared/storage/object-store';
import { DEFAULT_CONCURRENCY, uploadDirectory } from '../upload';
import { fail, formatBytes, progressBar } from './progress';

const USAGE = `Usage: npm run upload -- DIR [options]

Uploads every file under DIR to the landing bucket, keys relative to DIR (multipart above 8 MiB).

Options:
  --prefix P         key prefix, e.g. starter (keys become starter/customers.csv, ...)   default none
  --stage STAGE      local: the local stack's S3 at http://127.0.0.1:\${LOCAL_S3_PORT:-4566},
                     bucket landing (LANDING_BUCKET overrides);
                     dev: AWS, bucket LANDING_BUCKET (required), region AWS_REGION     default local
  --concurrency N    files uploaded at the same time, 1..64                              default ${DEFAULT_CONCURRENCY}
  -h, --help         show this help

Example: npm run generate -- --out .local/sample && npm run upload -- .local/sample
`;

export interface UploadArgs {
  dir: string;
  prefix: string;
  stage: 'local' | 'dev';
  concurrency: number;
}

export function parseUploadArgs(argv: string[]): UploadArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        prefix: { type: 'string', default: '' },
        stage: { type: 'string', default: 'local' },
        concurrency: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new InvalidInputError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) {
    throw new InvalidInputError(
      positionals.length === 0
        ? 'the folder to upload is required'
        : `one folder only, got ${positionals.join(' ')}`,
    );
  }
  const stage = values.stage;
  if (stage !== 'local' && stage !== 'dev')
    throw new InvalidInputError(`--stage must be local or dev, got ${stage}`);
  let concurrency = DEFAULT_CONCURRENCY;
  if (values.concurrency !== undefined) {
    if (!/^\d+$/.test(values.concurrency)) {
      throw new InvalidInputError(
        `--concurrency must be a whole number, got ${JSON.stringify(values.concurrency)}`,
      );
    }
    concurrency = Number(values.concurrency);
  }
  return { dir: positionals[0] as string, prefix: values.prefix ?? '', stage, concurrency };
}

/**
 * The configuration of the target stage. Uploading needs only the region, the endpoint and the landing
 * bucket, so for dev we validate just those: a laptop that uploads need not hold the Snowflake and
 * export settings the deployed functions use.
 */
export function uploadConfig(stage: 'local' | 'dev', env: NodeJS.ProcessEnv = process.env): Config {
  if (stage === 'local') return loadConfig({ ...env, STAGE: 'local' });
  if (!env.LANDING_BUCKET) {
    throw new ConfigError(
      'LANDING_BUCKET: required for --stage dev (the deployed landing bucket: the stack output LandingBucketName, see docs/DEPLOY.md)',
    );
  }
  return loadConfig({
    STAGE: 'dev',
    AWS_REGION: env.AWS_REGION,
    LANDING_BUCKET: env.LANDING_BUCKET,
    EXPORTS_BUCKET: env.EXPORTS_BUCKET ?? env.LANDING_BUCKET,
    S3_ENDPOINT: env.S3_ENDPOINT,
    // not used by an upload; set so the warehouse settings of the dev stage are not demanded here
    WAREHOUSE_ENGINE: 'duckdb',
  });
}

async function main(argv: string[]): Promise<void> {
  const args = parseUploadArgs(argv);
  if (args === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  // Not `import '../env'` like the other entry points: it sets dummy AWS credentials whenever STAGE is
  // unset, which would shadow a real profile for `--stage dev`. The local stage needs no credentials
  // at all (createS3Client gives the loopback server its own), so the metadata service is never asked.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (args.stage === 'local') process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const cfg = uploadConfig(args.stage);
  const client = createS3Client(cfg);
  const bar = progressBar('upload |{bar}| {percentage}% | {filesDone}/{filesTotal} files | {done} of {size}');
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  let started = false;
  try {
    const summary = await uploadDirectory(args.dir, {
      bucket: cfg.buckets.landing,
      prefix: args.prefix,
      client,
      concurrency: args.concurrency,
      signal: abort.signal,
      onProgress: (p) => {
        const payload = { ...p, done: formatBytes(p.bytesDone), size: formatBytes(p.bytesTotal) };
        if (!started) {
          bar.start(Math.max(p.bytesTotal, 1), payload);
          started = true;
        }
        bar.update(p.bytesDone, payload);
      },
    });
    bar.stop();
    process.stderr.write(
      `uploaded ${summary.files} files (${formatBytes(summary.bytes)}) from ${args.dir} to ` +
        `s3://${summary.bucket}/${summary.prefix} in ${summary.seconds.toFixed(1)}s\n`,
    );
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
    client.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => fail('upload', err, err instanceof InvalidInputError));
}
