/**
 * npm run transfer -- --table T --bucket B [options]
 *
 * The transfer from a terminal: the same library as the Lambda, a progress line on stderr, the
 * result JSON on stdout.
 */
import '../env';
import { parseArgs } from 'node:util';
import { InvalidInputError } from '../../shared/errors';
import { OUTPUT_FORMATS } from '../../shared/publish/types';
import { transferData, type TransferRequest } from '../../shared/transfer';
import { warehouse } from '../../shared/warehouse';
import { fail, formatBytes, progressBar } from './progress';

const USAGE = `Usage: npm run transfer -- --table T (--bucket B | --destination NAME) [options]

Aggregates table T to months in the warehouse (blank rows removed, numbers summed, dates truncated to
the month, everything else grouped) and writes <prefix>/<T>/<run id>/month=YYYY-MM/part-NNNNN.<ext>
and a _manifest.json to bucket B. Prints the result JSON.

Options:
  --table T            table, schema.table or database.schema.table                     required
  --bucket B           destination bucket (one of this account's, or a destination's)
  --destination NAME   a named destination (npm run destination -- list)          one of the two
  --columns C1,C2      keep only these columns (the month key stays)            default: every column
  --date-column C      the month key                            default: first date/timestamp column
  --sum C1,C2          sum exactly these numeric columns                 default: every numeric column
  --group C1,C2        group these as they are (even numeric or date columns)
  --format F           ${OUTPUT_FORMATS.join(' | ')}                                    default jsonl.gz
  --prefix P           key prefix ('' for none)                                         default transfer
  --pseudonymise C1,C2 replace these columns by keyed HMAC-SHA256 (needs EXPORT_SALT)
  --mode M             stream | unload (Snowflake only)                                 default stream
  --run-id ID          fixed run id: a repeat returns the first run's result    default: time + random
  --max-file-size N    unload mode: Snowflake MAX_FILE_SIZE in bytes
  -h, --help           show this help

Local stage: the warehouse is .local/warehouse.duckdb and S3 the local stack (npm start).
Example: npm run generate:tables && npm run transfer -- --table ORDERS_100K --bucket exports
         npm run transfer -- --table ORDERS_100K --bucket exports --columns O_ORDERSTATUS,O_TOTALPRICE
`;

const list = (value: string | undefined): string[] | undefined =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

export function parseTransferArgs(argv: string[]): TransferRequest | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        table: { type: 'string' },
        bucket: { type: 'string' },
        destination: { type: 'string' },
        columns: { type: 'string' },
        'date-column': { type: 'string' },
        sum: { type: 'string' },
        group: { type: 'string' },
        format: { type: 'string' },
        prefix: { type: 'string' },
        pseudonymise: { type: 'string' },
        mode: { type: 'string' },
        'run-id': { type: 'string' },
        'max-file-size': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new InvalidInputError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (!v.table) throw new InvalidInputError('--table is required');
  if (!v.bucket && !v.destination) throw new InvalidInputError('--bucket or --destination is required');
  const request: Record<string, unknown> = {
    source_table: v.table,
    destination_s3_bucket: v.bucket,
    destination: v.destination,
    columns: list(v.columns),
    date_column: v['date-column'],
    sum_columns: list(v.sum),
    group_columns: list(v.group),
    format: v.format,
    prefix: v.prefix,
    pseudonymise: list(v.pseudonymise),
    mode: v.mode,
    run_id: v['run-id'],
    max_file_size: v['max-file-size'] === undefined ? undefined : Number(v['max-file-size']),
  };
  // let the request schema name bad values; undefined means "default"
  return Object.fromEntries(
    Object.entries(request).filter(([, value]) => value !== undefined),
  ) as TransferRequest;
}

async function main(argv: string[]): Promise<void> {
  const request = parseTransferArgs(argv);
  if (request === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const bar = progressBar('transfer {table} | {partition} | {value} rows | {bytes} | {duration_formatted}');
  bar.start(0, { table: request.source_table, partition: '', bytes: formatBytes(0) });
  try {
    const result = await transferData(request, {
      origin: 'cli',
      onProgress: (p) => bar.update(p.rows, { partition: p.partition, bytes: formatBytes(p.bytes) }),
    });
    bar.stop();
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    bar.stop();
    await warehouse().close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) =>
    fail('transfer', err, err instanceof InvalidInputError),
  );
}
