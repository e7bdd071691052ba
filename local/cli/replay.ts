/**
 * npm run replay -- --prefix transactions/d=2018-09 [--since DATE] [--dry-run] [--stage local|dev|prod]
 *
 * Replay / backfill: enqueue S3-notification-shaped messages for the matching landing objects, so
 * they load through the normal path; the file ledger keeps it exactly once (shared/ops/replay.ts).
 */
import '../env';
import { parseArgs } from 'node:util';
import { config } from '../../shared/config';
import { parseSince } from '../../shared/ops/landing';
import { replay } from '../../shared/ops/replay';
import { resolveTarget } from '../../shared/ops/target';
import { run, selectStage, UsageError } from './ops-common';

const USAGE = `Usage: npm run replay -- (--prefix PREFIX | --all) [options]

Enqueues an S3 ObjectCreated notification for every routed object under PREFIX in the landing
bucket (SQS SendMessageBatch, 10 per call). Files load through the normal ingest path; a version
already loaded is a no-op, so replaying more than needed is safe.

Options:
  --prefix PREFIX         key prefix, e.g. transactions/d=2018-09 (a month) or customers.csv
  --all                   every object in the bucket (instead of --prefix)
  --since DATE            only objects last modified at or after DATE (YYYY-MM-DD or ISO 8601)
  --dry-run               list what would be enqueued, send nothing
  --stage local|dev|prod  default local (the running npm start stack)
  -h, --help              show this help

Exit code: 0 when every message was enqueued, 1 when some were not, 2 when it could not run.
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      prefix: { type: 'string' },
      all: { type: 'boolean', default: false },
      since: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      stage: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.prefix === undefined && !values.all)
    throw new UsageError('give --prefix PREFIX, or --all to replay the whole bucket');
  if (values.prefix !== undefined && values.all)
    throw new UsageError('--prefix and --all exclude each other');
  if (values.prefix === '')
    throw new UsageError('--prefix must not be empty (use --all for the whole bucket)');
  const stage = selectStage(values.stage);
  const since = values.since ? parseSince(values.since) : undefined;
  const cfg = config();
  const target = await resolveTarget(cfg);
  try {
    const dryRun = values['dry-run'];
    const where = `s3://${target.bucket}/${values.prefix ?? ''}`;
    process.stderr.write(
      `${dryRun ? '[dry run] ' : ''}replay ${where}${since ? ` since ${since.toISOString()}` : ''} -> ${target.queueUrl} (stage ${stage})\n`,
    );
    const result = await replay({
      s3: target.s3,
      sqs: target.sqs,
      bucket: target.bucket,
      queueUrl: target.queueUrl,
      region: target.region,
      routes: cfg.routes,
      style: target.sequencerStyle,
      prefix: values.prefix,
      since,
      versioned: await target.versioned(),
      dryRun,
      onProgress: (sent, total) => process.stderr.write(`  enqueued ${sent}/${total}\r`),
    });
    if (dryRun) {
      for (const o of result.selected) {
        process.stdout.write(
          `${o.dataset.padEnd(12)} ${o.lastModified.toISOString()} ${String(o.size).padStart(10)}  ${o.key}\n`,
        );
      }
    }
    const lines = [
      `objects listed:   ${result.listed}`,
      `to replay:        ${result.selected.length}`,
      ...(result.older > 0 ? [`older than since: ${result.older} (skipped)`] : []),
      ...(result.unrouted.length > 0
        ? [`unrouted keys:    ${result.unrouted.length} (skipped: no dataset matches them)`]
        : []),
      dryRun ? 'enqueued:         0 (dry run)' : `enqueued:         ${result.sent}`,
      ...(result.failed.length > 0
        ? [
            `NOT enqueued:     ${result.failed.length} (first: ${result.failed[0]!.code} ${result.failed[0]!.message})`,
          ]
        : []),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (!dryRun && result.sent > 0) {
      process.stdout.write('Loads follow through the ingest queue; check with: npm run reconcile\n');
    }
    return result.failed.length > 0 ? 1 : 0;
  } finally {
    target.close();
  }
}

run('replay', USAGE, main);
