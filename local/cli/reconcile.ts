/**
 * npm run reconcile -- [--prefix P] [--fix] [--dry-run] [--grace-minutes N] [--json] [--stage local|dev|prod]
 *
 * Lists the landing bucket against the file ledger (shared/ops/reconcile.ts). Exits 1 when an
 * object is missing, changed since loading or failed, so a scheduler can alert on it.
 */
import '../env';
import { parseArgs } from 'node:util';
import { config } from '../../shared/config';
import { FINDINGS, PROBLEMS, reconcile, type ReconcileEntry } from '../../shared/ops/reconcile';
import { resolveTarget } from '../../shared/ops/target';
import { warehouse } from '../../shared/warehouse';
import { positiveNumber, run, selectStage } from './ops-common';

const USAGE = `Usage: npm run reconcile -- [options]

Compares every routed object in the landing bucket with the file ledger and reports objects never
loaded (missing), changed since loading (ETag / version differs), failed, loaded with quarantined
rows, older snapshots, objects still in flight, and live rows whose object was deleted (orphaned).

Options:
  --prefix PREFIX         only keys under PREFIX
  --fix                   replay the missing and changed objects through the ingest queue
  --dry-run               with --fix: list what would be replayed, send nothing
  --grace-minutes N       objects modified in the last N minutes are "in flight", not missing
                          (default 15 on dev/prod, 0 locally)
  --all                   list every object, not only the ones that need attention
  --json                  print the full result as JSON
  --stage local|dev|prod  default local (the running npm start stack)
  -h, --help              show this help

Exit code: 0 all loaded, 1 something is missing, changed or failed (also when --fix replayed it:
run again once the queue has drained), 2 it could not run.
`;

function line(e: ReconcileEntry): string {
  const detail = [
    e.liveVersion ? `live version ${e.liveVersion}` : '',
    e.rowsQuarantined ? `${e.rowsQuarantined} of ${e.rowsLoaded! + e.rowsQuarantined} rows quarantined` : '',
    e.error ? `error: ${e.error}` : '',
    e.attempts ? `${e.attempts} attempt(s)` : '',
    e.note ?? '',
  ].filter(Boolean);
  return `  ${e.finding.padEnd(15)} ${e.key}  (${e.dataset}, ${e.version})${detail.length ? ' — ' + detail.join('; ') : ''}\n`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      prefix: { type: 'string' },
      fix: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'grace-minutes': { type: 'string' },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      stage: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const stage = selectStage(values.stage);
  const graceSeconds =
    positiveNumber('--grace-minutes', values['grace-minutes'], stage === 'local' ? 0 : 15) * 60;
  const cfg = config();
  const target = await resolveTarget(cfg);
  const wh = warehouse();
  try {
    const result = await reconcile({
      s3: target.s3,
      wh,
      bucket: target.bucket,
      routes: cfg.routes,
      prefix: values.prefix,
      versioned: await target.versioned(),
      graceSeconds,
      fix: values.fix
        ? {
            sqs: target.sqs,
            queueUrl: target.queueUrl,
            region: target.region,
            style: target.sequencerStyle,
            dryRun: values['dry-run'],
          }
        : undefined,
    });
    if (values.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return result.problems > 0 ? 1 : 0;
    }
    const out: string[] = [
      `reconcile s3://${target.bucket}/${values.prefix ?? ''} against raw.file_ledger (stage ${stage})`,
      `objects: ${result.objects} routed${result.unrouted.length ? `, ${result.unrouted.length} unrouted (ignored)` : ''}; ledger rows: ${result.ledgerRows}`,
      '',
      ...FINDINGS.filter((f) => result.counts[f] > 0 || PROBLEMS.has(f)).map(
        (f) =>
          `  ${f.padEnd(15)} ${String(result.counts[f]).padStart(7)}${PROBLEMS.has(f) && result.counts[f] > 0 ? '   <- needs attention' : ''}`,
      ),
      '',
    ];
    process.stdout.write(out.join('\n') + '\n');
    const shown = result.entries.filter(
      (e) => values.all || !['loaded', 'older_snapshot'].includes(e.finding),
    );
    for (const e of shown) process.stdout.write(line(e));
    if (result.fixed) {
      const f = result.fixed;
      process.stdout.write(
        f.dryRun
          ? `\n[dry run] would replay ${f.selected.length} object(s): ${f.selected.map((o) => o.key).join(', ') || 'none'}\n`
          : `\nreplayed ${f.sent} object(s)${f.failed.length ? `, ${f.failed.length} NOT enqueued` : ''}; ` +
              'run npm run reconcile again once the queue has drained\n',
      );
    } else if (result.problems > 0) {
      process.stdout.write(
        '\nnpm run reconcile -- --fix replays the missing and changed objects; failed files need a fixed upload (see npm run redrive -- --peek)\n',
      );
    }
    return result.problems > 0 ? 1 : 0;
  } finally {
    target.close();
    await wh.close();
  }
}

run('reconcile', USAGE, main);
