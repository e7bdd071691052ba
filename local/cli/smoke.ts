/**
 * npm run smoke -- --stage dev|prod|local [--timeout SECONDS] [--yes]
 *
 * Checks a deployed stack end to end (shared/ops/smoke.ts): upload a one-line sample to the landing
 * bucket, wait for the file ledger to say it loaded, reconcile, invoke rebuild, invoke transfer. One
 * PASS/FAIL line per step; exit 0 when every step passed, 1 when one failed, 2 when it could not run
 * (and then it says what is missing). `--stage local` runs the same steps against the running local
 * stack (`npm start`), with the handlers in this process.
 */
import '../env';
import { parseArgs } from 'node:util';
import { config } from '../../shared/config';
import { ConfigError, errorMessage } from '../../shared/errors';
import {
  formatStep,
  lambdaInvoker,
  runSmoke,
  smokeLambdaClient,
  type SmokeDeps,
} from '../../shared/ops/smoke';
import { resolveTarget } from '../../shared/ops/target';
import { warehouse } from '../../shared/warehouse';
import { positiveNumber, run, selectStage, UsageError } from './ops-common';

const USAGE = `Usage: npm run smoke -- --stage dev|prod|local [options]

Checks a deployed stack end to end, one PASS/FAIL line per step:
  upload     a one-line transactions file (customer SMOKE-TEST) to the landing bucket
  ledger     raw.file_ledger says it loaded (waits for SQS, a cold start and the load)
  reconcile  the landing object and the ledger agree
  rebuild    invoke rebuild: models, data tests, the weekly export (status published)
  transfer   invoke transfer of analytics.customer_product_purchases_monthly to the exports bucket
  transfer (unload)  the same in mode "unload" (Snowflake writes the parts; dev and prod only)

It leaves that file, its row, the export and the transfer output behind.

Options:
  --stage S          dev, prod (asks for --yes) or local (the running npm start stack)
  --timeout SECONDS  how long to wait for the ledger (default 300)
  --yes              confirm a run against prod
  -h, --help         show this help

Needs on dev/prod: AWS credentials (s3:PutObject and ListBucket on the landing bucket,
lambda:InvokeFunction on the rebuild and transfer functions); LANDING_BUCKET and EXPORTS_BUCKET (the
stack outputs LandingBucketName and ExportsBucketName); the ledger through Snowflake (SNOWFLAKE_ACCOUNT,
SNOWFLAKE_USER, SNOWFLAKE_ROLE and SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_SECRET_ARN).

Exit code: 0 every step passed, 1 a step failed, 2 it could not run.
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string' },
      timeout: { type: 'string' },
      yes: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.stage) throw new UsageError('--stage is required (dev, prod or local)');
  if (values.stage === 'prod' && !values.yes)
    throw new UsageError('--stage prod leaves a sample row in prod: add --yes');
  const stage = selectStage(values.stage);
  const missing =
    stage === 'local' ? [] : ['LANDING_BUCKET', 'EXPORTS_BUCKET'].filter((v) => !process.env[v]);
  if (missing.length > 0) {
    throw new ConfigError(
      `${missing.join(' and ')} not set: export them from the stack outputs (LandingBucketName, ExportsBucketName; docs/DEPLOY.md step 4)`,
    );
  }
  const cfg = config();
  const target = await resolveTarget(cfg).catch((err: unknown) => {
    throw new ConfigError(`cannot reach the ${stage} stack: ${errorMessage(err)}`, { cause: err });
  });
  if (stage !== 'local') {
    // fail fast, and say so, when this shell has no AWS credentials
    await target.s3.config.credentials().catch((err: unknown) => {
      throw new ConfigError(
        `no AWS credentials (${errorMessage(err)}): configure them as for the AWS CLI (aws sts get-caller-identity)`,
      );
    });
  }
  const wh = warehouse();
  const lambda = stage === 'local' ? undefined : smokeLambdaClient(cfg.region);
  const invoke: SmokeDeps['invoke'] = lambda
    ? lambdaInvoker(lambda, stage)
    : async (fn, payload) => {
        // the local stage: the same handlers, in this process, against the running stack
        if (fn === 'rebuild')
          return (await import('../../functions/rebuild')).rebuildHandler(payload) as unknown as Record<
            string,
            unknown
          >;
        return (await import('../../functions/transfer')).transferHandler(payload) as unknown as Record<
          string,
          unknown
        >;
      };
  try {
    process.stdout.write(`smoke test of stage ${stage}\n`);
    const steps = await runSmoke(
      {
        s3: target.s3,
        wh,
        landingBucket: cfg.buckets.landing,
        exportsBucket: cfg.buckets.exports,
        routes: cfg.routes,
        versioned: await target.versioned(),
        invoke,
        unload: stage !== 'local',
        ledgerTimeoutMs: positiveNumber('--timeout', values.timeout, 300) * 1000,
      },
      (s) => process.stdout.write(`${formatStep(s)}\n`),
    );
    const failed = steps.filter((s) => !s.ok).length;
    const skipped = (stage === 'local' ? 5 : 6) - steps.length;
    process.stdout.write(
      failed === 0
        ? 'smoke test passed\n'
        : `smoke test FAILED (${failed} failed${skipped ? `, ${skipped} not run` : ''})\n`,
    );
    return failed === 0 ? 0 : 1;
  } finally {
    lambda?.destroy();
    target.close();
    await wh.close();
  }
}

run('smoke', USAGE, main);
