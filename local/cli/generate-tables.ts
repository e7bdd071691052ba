/**
 * npm run generate:tables [-- --only NAME] [--rows N]
 *
 * Creates the transfer seed's sample tables in the local DuckDB warehouse (synthetic, deterministic;
 * see local/sample-tables.ts): LOCATIONS_595, ORDERS_100K and MOVIE_RATINGS_27M (27M rows, about
 * 10 s and 300 MB of disk; `--only` skips it).
 */
import '../env';
import { parseArgs } from 'node:util';
import { InvalidInputError } from '../../shared/errors';
import { warehouse } from '../../shared/warehouse';
import { generateSampleTable, SAMPLE_TABLES, sampleTable } from '../sample-tables';
import { fail } from './progress';

const USAGE = `Usage: npm run generate:tables [-- --only NAME] [--rows N]

Creates (or replaces) synthetic equivalents of the transfer seed's tables in the local warehouse:
${SAMPLE_TABLES.map((t) => `  ${t.name.padEnd(18)} ${String(t.defaultRows).padStart(10)} rows  ${t.description}`).join('\n')}
Each has fully blank rows, whitespace-only strings (where it has text columns) and NULLs.

Options:
  --only NAME   create only this table (repeatable as NAME1,NAME2)
  --rows N      scale the table(s) to N rows
  -h, --help    show this help
`;

export function parseGenerateTablesArgs(argv: string[]): { names: string[]; rows?: number } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        only: { type: 'string' },
        rows: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new InvalidInputError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.values.help) return 'help';
  const names = parsed.values.only
    ? parsed.values.only.split(',').map((n) => sampleTable(n.trim()).name)
    : SAMPLE_TABLES.map((t) => t.name);
  const rows = parsed.values.rows === undefined ? undefined : Number(parsed.values.rows);
  if (rows !== undefined && (!Number.isSafeInteger(rows) || rows < 0)) {
    throw new InvalidInputError('--rows must be a non-negative integer');
  }
  return { names, rows };
}

async function main(argv: string[]): Promise<void> {
  const args = parseGenerateTablesArgs(argv);
  if (args === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const wh = warehouse();
  try {
    for (const name of args.names) {
      const started = Date.now();
      const count = await generateSampleTable(wh, name, { rows: args.rows });
      process.stdout.write(`${name}: ${count} rows (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    }
  } finally {
    await wh.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) =>
    fail('generate:tables', err, err instanceof InvalidInputError),
  );
}
