/**
 * `npm run query -- "SQL" [--format table|csv|json] [--stage local|dev|prod]`
 * Runs SQL against the stage's warehouse and prints only the result on stdout (csv with a header).
 * Locally it goes through the running stack when `npm start` owns the DuckDB file.
 */
import '../env';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../shared/errors';
import { warehouse } from '../../shared/warehouse';
import type { Row, Warehouse } from '../../shared/warehouse/port';
import { formatRows, type OutputFormat } from '../format';

const USAGE = 'usage: npm run query -- "select ..." [--format table|csv|json] [--stage local|dev|prod]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'table' },
      stage: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const sql = positionals.join(' ').trim();
  if (!sql) {
    process.stderr.write(`no SQL given\n${USAGE}\n`);
    return 2;
  }
  if (!['table', 'csv', 'json'].includes(values.format as string)) {
    process.stderr.write(`unknown --format ${values.format}\n${USAGE}\n`);
    return 2;
  }
  if (values.stage) process.env.STAGE = values.stage;
  const wh = warehouse();
  try {
    const rows: Row[] = [];
    for await (const batch of wh.stream(sql)) rows.push(...batch);
    const columns = rows.length > 0 ? Object.keys(rows[0] as Row) : await columnsOf(wh, sql);
    process.stdout.write(formatRows(rows, values.format as OutputFormat, columns));
    return 0;
  } finally {
    await wh.close();
  }
}

/** An empty result still has columns (a CSV header): a DESCRIBE of the query names them, where there is one. */
async function columnsOf(wh: Warehouse, sql: string): Promise<string[]> {
  const describe = /^\s*(select|with|from|values|table)\b/i.test(sql) ? wh.dialect.describeQuery(sql.replace(/;\s*$/, '')) : undefined;
  if (!describe) return [];
  try {
    return (await wh.query<{ column_name: string }>(describe)).map((r) => r.column_name);
  } catch {
    return [];
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`query failed: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
