/**
 * `npm run plan -- --files-per-day N --mb-per-file M [--compression R] [--credit-usd P] [--max-window S]
 *                  [--batch-size B] [--max-concurrency C] [--deployed] [--design append|lock]
 *                  [--account-concurrency A] [--history-days D] [--format table|json|md]`
 * `npm run plan -- --table-gb G [--row-bytes B] [--reduction R] [--months N] [--format ...]`
 * `npm run plan -- --grid [--format md]`   (every table of docs/SCALE.md)
 *
 * The capacity and cost model (local/plan, reasoning in docs/SCALE.md) for your numbers: SQS batch size
 * and window, Lambda concurrency and duration, COPY statements a minute, warehouse size and credits a
 * day, COPY mode against pipe mode, every limit as a term and the one that binds, the weekly rebuild,
 * S3 and SQS request costs; or the transfer of a table (one Lambda, fanned out per month, or unloaded
 * by Snowflake). No network: pure arithmetic on documented constants.
 */
import { parseArgs } from 'node:util';
import { errorMessage } from '../../shared/errors';
import {
  deployedInput,
  gridPlans,
  gridRows,
  planIngest,
  planTransfer,
  rebuildGrid,
  renderAllGrids,
  renderIngest,
  renderTransfer,
  transferGrid,
  type IngestInput,
  type TableFormat,
  type WriteDesign,
} from '../plan';

export const USAGE = [
  'usage: npm run plan -- --files-per-day N --mb-per-file M [--compression R] [--credit-usd P] [--max-window S] [--batch-size B]',
  '                       [--max-concurrency C] [--deployed] [--design append|lock] [--account-concurrency A]',
  '                       [--history-days D] [--format table|json|md]',
  '       npm run plan -- --table-gb G [--row-bytes B] [--reduction R] [--months N] [--credit-usd P] [--format table|json|md]',
  '       npm run plan -- --grid [--credit-usd P] [--format table|json|md]',
  '',
  '  --files-per-day   objects landed a day            --mb-per-file  average object size, MB (10^6 bytes), as stored',
  '  --compression     uncompressed/stored (default 1) --max-window   longest SQS batching window you accept, s (default 300)',
  '  --credit-usd      price of a Snowflake credit (default 3, Enterprise on demand)',
  '  --batch-size      evaluate this SQS batch size instead of choosing it',
  '  --max-concurrency evaluate this MaximumConcurrency (2..1000) instead of recommending it',
  "  --deployed        evaluate serverless.yml's settings: batch 10, window 5 s, MaximumConcurrency 5",
  '  --design          append (default: the hot path only appends) or lock (the old dataset lock)',
  "  --account-concurrency  the account's Lambda concurrency quota (default 1000; new accounts start lower)",
  '  --history-days    days of raw data the weekly rebuild reads (default 365)',
  '  --table-gb        transfer: source table size, GB --reduction    aggregated rows / source rows (default 1)',
  '  --row-bytes       transfer: bytes per row (50)    --months       months in the table (default 24)',
].join('\n');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function number(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw).replace(/_/g, '');
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new RangeError(`--${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

export function runPlan(argv: string[]): CliResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'files-per-day': { type: 'string' },
        'mb-per-file': { type: 'string' },
        compression: { type: 'string' },
        'credit-usd': { type: 'string' },
        'max-window': { type: 'string' },
        'batch-size': { type: 'string' },
        'max-concurrency': { type: 'string' },
        'account-concurrency': { type: 'string' },
        'history-days': { type: 'string' },
        design: { type: 'string' },
        deployed: { type: 'boolean' },
        'table-gb': { type: 'string' },
        'row-bytes': { type: 'string' },
        reduction: { type: 'string' },
        months: { type: 'string' },
        grid: { type: 'boolean' },
        format: { type: 'string', default: 'table' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { code: 2, stdout: '', stderr: `${errorMessage(err)}\n${USAGE}\n` };
  }
  if (values.help) return { code: 0, stdout: USAGE + '\n', stderr: '' };
  const format = values.format as string;
  if (!['table', 'json', 'md'].includes(format))
    return { code: 2, stdout: '', stderr: `unknown --format ${format}\n${USAGE}\n` };
  try {
    const creditUsd = number(values, 'credit-usd');
    const design = values.design ?? 'append';
    if (design !== 'append' && design !== 'lock')
      return {
        code: 2,
        stdout: '',
        stderr: `--design must be append or lock, got ${JSON.stringify(design)}\n${USAGE}\n`,
      };
    if (values.grid) {
      if (format === 'json') {
        const rows = gridRows(creditUsd, 'append');
        const grid = {
          ingest: rows.map((r) => r.plan),
          ingestDeployed: rows.map((r) => r.deployed),
          ingestWithLock: gridPlans(creditUsd, 'lock'),
          rebuild: rebuildGrid('append'),
          transfer: transferGrid(undefined, creditUsd),
        };
        return { code: 0, stdout: JSON.stringify(grid, null, 2) + '\n', stderr: '' };
      }
      return { code: 0, stdout: renderAllGrids(creditUsd, format as TableFormat), stderr: '' };
    }
    const tableGb = number(values, 'table-gb');
    if (tableGb !== undefined) {
      const plan = planTransfer({
        tableGb,
        ...defined({
          rowBytes: number(values, 'row-bytes'),
          reduction: number(values, 'reduction'),
          months: number(values, 'months'),
          creditUsd,
        }),
      });
      if (format === 'json') return { code: 0, stdout: JSON.stringify(plan, null, 2) + '\n', stderr: '' };
      return { code: 0, stdout: renderTransfer([plan], format as TableFormat), stderr: '' };
    }
    const files = number(values, 'files-per-day');
    const mb = number(values, 'mb-per-file');
    if (files === undefined || mb === undefined) {
      return {
        code: 2,
        stdout: '',
        stderr: `give --files-per-day and --mb-per-file (or --table-gb, or --grid)\n${USAGE}\n`,
      };
    }
    const workload: IngestInput = {
      filesPerDay: files,
      mbPerFile: mb,
      design: design as WriteDesign,
      ...defined({
        compressionRatio: number(values, 'compression'),
        creditUsd,
        maxWindowS: number(values, 'max-window'),
        batchSize: number(values, 'batch-size'),
        maxConcurrency: number(values, 'max-concurrency'),
        accountConcurrency: number(values, 'account-concurrency'),
        historyDays: number(values, 'history-days'),
      }),
    };
    const plan = planIngest(values.deployed ? deployedInput(workload) : workload);
    if (format === 'json') return { code: 0, stdout: JSON.stringify(plan, null, 2) + '\n', stderr: '' };
    return { code: 0, stdout: renderIngest(plan, format as TableFormat), stderr: '' };
  } catch (err) {
    return { code: 2, stdout: '', stderr: `${errorMessage(err)}\n${USAGE}\n` };
  }
}

function defined<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: number;
  };
}

if (require.main === module) {
  const result = runPlan(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code;
}
