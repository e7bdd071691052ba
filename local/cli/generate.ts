/**
 * npm run generate -- --out DIR [--months N] [--customers N] [--seed S] [--end YYYY-MM-DD] [--force]
 *
 * Writes sample retail data in the original generator's layout and format (docs/data-generator.md).
 */
import '../env';
import { parseArgs } from 'node:util';
import { InvalidInputError } from '../../shared/errors';
import { LIMITS, generateSampleData, yesterdayUtc } from '../generator';
import { fail, formatBytes, progressBar } from './progress';

export const DEFAULTS = { months: 3, customers: 137, seed: 42 } as const;

const USAGE = `Usage: npm run generate -- --out DIR [options]

Writes DIR/customers.csv, DIR/products.csv and DIR/transactions/d=YYYY-MM-DD/transactions.json.

Options:
  --out DIR          output folder (created if missing)                       required
  --months N         months of transactions, ${LIMITS.months.min}..${LIMITS.months.max}                          default ${DEFAULTS.months}
  --customers N      number of customers C1..CN, ${LIMITS.customers.min}..${LIMITS.customers.max}            default ${DEFAULTS.customers}
  --seed S           random seed, ${LIMITS.seed.min}..${LIMITS.seed.max}; same seed, same bytes     default ${DEFAULTS.seed}
  --end YYYY-MM-DD   last day of data (inclusive)                             default yesterday (UTC)
  --force            replace customers.csv, products.csv and transactions/ in DIR
  -h, --help         show this help

Example (the original fixture's shape): npm run generate -- --out .local/sample --end 2020-01-01
`;

export interface GenerateArgs {
  outDir: string;
  months: number;
  customers: number;
  seed: number;
  end: string;
  overwrite: boolean;
}

/** Parse and validate the command line; throws InvalidInputError with a message for the user. */
export function parseGenerateArgs(
  argv: string[],
  defaultEnd: () => string = yesterdayUtc,
): GenerateArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: 'string' },
        months: { type: 'string' },
        customers: { type: 'string' },
        seed: { type: 'string' },
        end: { type: 'string' },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new InvalidInputError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return 'help';
  if (!values.out) throw new InvalidInputError('--out DIR is required');
  return {
    outDir: values.out,
    months: intFlag('--months', values.months, DEFAULTS.months),
    customers: intFlag('--customers', values.customers, DEFAULTS.customers),
    seed: intFlag('--seed', values.seed, DEFAULTS.seed),
    end: values.end ?? defaultEnd(),
    overwrite: values.force ?? false,
  };
}

function intFlag(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text.trim()))
    throw new InvalidInputError(`${name} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text.trim());
}

async function main(argv: string[]): Promise<void> {
  const args = parseGenerateArgs(argv);
  if (args === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const bar = progressBar('generate |{bar}| {value}/{total} days | {transactions} transactions | ETA {eta}s');
  const started = process.hrtime.bigint();
  let summary;
  try {
    summary = await generateSampleData({
      ...args,
      onProgress: (p) => {
        if (p.daysDone === 1) bar.start(p.daysTotal, { transactions: 0 });
        bar.update(p.daysDone, { transactions: p.transactions });
      },
    });
  } finally {
    bar.stop();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stderr.write(
    `generated ${summary.customers} customers, ${summary.products} products, ${summary.transactions} transactions ` +
      `(${summary.items} items) for ${summary.start}..${summary.end} (${summary.days} days, seed ${args.seed}) ` +
      `into ${summary.outDir}: ${summary.files} files, ${formatBytes(summary.bytes)} in ${seconds.toFixed(1)}s\n`,
  );
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) =>
    fail('generate', err, err instanceof InvalidInputError),
  );
}
