/**
 * The sample data generator: customers.csv, products.csv and one JSON Lines file per day under
 * transactions/d=YYYY-MM-DD/transactions.json, with the layout, catalogue and distributions of the
 * original generator (see ./distributions.ts and docs/data-generator.md).
 *
 * Deterministic: one seeded xoroshiro128+ stream (pure-rand) is consumed in a fixed order, so a seed
 * and the options give the same bytes on every machine.
 *
 * Constant memory in the length of the period: the original wrote customer by customer into every
 * day file at once; here the days are written one after the other, and each customer's purchase days
 * are chosen on the fly by selection sampling (Knuth, TAOCP vol. 2, 3.4.2, Algorithm S): on a day
 * with `daysLeft` days to go, a customer who still needs `left` purchase days buys with probability
 * left / daysLeft. That draws a uniformly random set of exactly `left` distinct days, the same
 * distribution as the original's `random.sample(all_days, n)`, while only one day file is open and
 * only a few bytes per customer are held. Files are written through streams with back-pressure.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { unsafeUniformIntDistribution as int, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import { CATEGORIES, PRODUCTS } from '../../shared/products';
import { InvalidInputError } from '../../shared/errors';
import { addDays, addMonthsClamped, daysBetween, formatIsoDate, parseIsoDate } from './calendar';
import {
  BASKET_SIZE,
  LOYALTY_SCORE,
  PRICE,
  PURCHASE_MINUTE,
  categoryPool,
  frequencyChoices,
  productsByCategory,
} from './distributions';
import { csvRow, formatTransaction, type BasketItem } from './format';

export const LIMITS = {
  months: { min: 1, max: 240 },
  customers: { min: 1, max: 1_000_000 },
  seed: { min: 0, max: 0xffff_ffff },
} as const;

export interface GenerateOptions {
  /** Output folder; created if missing. */
  outDir: string;
  /** Length of the period in calendar months, ending on `end` (inclusive). */
  months: number;
  customers: number;
  seed: number;
  /** Last day of data, YYYY-MM-DD. The first day is the same day of the month `months` earlier. */
  end: string;
  /** Replace customers.csv, products.csv and transactions/ if present (nothing else is touched). */
  overwrite?: boolean;
  onProgress?: (progress: GenerateProgress) => void;
}

export interface GenerateProgress {
  daysDone: number;
  daysTotal: number;
  transactions: number;
}

export interface GenerateSummary {
  outDir: string;
  start: string;
  end: string;
  days: number;
  customers: number;
  products: number;
  transactions: number;
  items: number;
  bytes: number;
  files: number;
}

/** The output layout, relative to the output folder. */
export const LAYOUT = {
  customers: 'customers.csv',
  products: 'products.csv',
  transactionsDir: 'transactions',
  transactionsFile: (day: string) => path.join('transactions', `d=${day}`, 'transactions.json'),
} as const;

/** Chunks written to the day files; big enough to amortise syscalls, small enough to stay constant. */
const CHUNK_CHARS = 64 * 1024;

export function validateGenerateOptions(o: GenerateOptions): { start: Date; end: Date } {
  if (!o.outDir) throw new InvalidInputError('an output folder is required');
  checkInt('months', o.months, LIMITS.months);
  checkInt('customers', o.customers, LIMITS.customers);
  checkInt('seed', o.seed, LIMITS.seed);
  const end = parseIsoDate(o.end, 'end');
  return { start: addMonthsClamped(end, -o.months), end };
}

function checkInt(name: string, value: number, range: { min: number; max: number }): void {
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new InvalidInputError(`${name} must be an integer from ${range.min} to ${range.max}, got ${value}`);
  }
}

export async function generateSampleData(options: GenerateOptions): Promise<GenerateSummary> {
  const { start, end } = validateGenerateOptions(options);
  const outDir = path.resolve(options.outDir);
  await prepareOutput(outDir, options.overwrite ?? false);

  const rng = xoroshiro128plus(options.seed | 0);
  const spanDays = daysBetween(start, end);
  const daysTotal = spanDays + 1;
  const pool = categoryPool();
  const productIds = productsByCategory();
  const customers = options.customers;
  const summary: GenerateSummary = {
    outDir,
    start: formatIsoDate(start),
    end: formatIsoDate(end),
    days: daysTotal,
    customers,
    products: PRODUCTS.length,
    transactions: 0,
    items: 0,
    bytes: 0,
    files: 0,
  };
  const write = async (relative: string, chunks: Iterable<string>): Promise<void> => {
    const file = path.join(outDir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    const counted = (function* () {
      for (const chunk of chunks) {
        summary.bytes += Buffer.byteLength(chunk);
        yield chunk;
      }
    })();
    await pipeline(Readable.from(counted), createWriteStream(file));
    summary.files++;
  };

  await write(LAYOUT.products, productRows());
  const plan = new CustomerPlan(customers, CATEGORIES.length);
  await write(LAYOUT.customers, customerRows(rng, plan, frequencyChoices(spanDays), pool));

  for (let d = 0; d < daysTotal; d++) {
    const day = formatIsoDate(addDays(start, d));
    await write(LAYOUT.transactionsFile(day), dayLines(rng, plan, day, daysTotal - d, productIds, summary));
    options.onProgress?.({ daysDone: d + 1, daysTotal, transactions: summary.transactions });
  }
  return summary;
}

/** Refuse to mix a new data set with an old one; with overwrite, remove only what we write. */
async function prepareOutput(outDir: string, overwrite: boolean): Promise<void> {
  const ours = [LAYOUT.customers, LAYOUT.products, LAYOUT.transactionsDir].map((p) => path.join(outDir, p));
  const present: string[] = [];
  for (const p of ours) {
    if (await exists(p)) present.push(p);
  }
  if (present.length > 0) {
    if (!overwrite) {
      throw new InvalidInputError(
        `${outDir} already holds generated data (${present.map((p) => path.basename(p)).join(', ')}); ` +
          'choose another folder or pass --force to replace it',
      );
    }
    for (const p of present) await rm(p, { recursive: true, force: true });
  }
  await mkdir(outDir, { recursive: true });
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function* productRows(): Generator<string> {
  let out = csvRow(['product_id', 'product_description', 'product_category']);
  for (const p of PRODUCTS) out += csvRow([p.productId, p.description, p.category]);
  yield out;
}

/** Per-customer state kept across days: a few bytes each, independent of the period's length. */
class CustomerPlan {
  /** Purchase days the customer still has to make. */
  readonly daysLeft: Int32Array;
  /** Preferred categories (indices into CATEGORIES), `maxCategories` slots per customer. */
  readonly categories: Uint8Array;
  readonly categoryCount: Uint8Array;

  constructor(
    readonly size: number,
    readonly maxCategories: number,
  ) {
    this.daysLeft = new Int32Array(size);
    this.categories = new Uint8Array(size * maxCategories);
    this.categoryCount = new Uint8Array(size);
  }
}

/** customers.csv, drawing each customer's loyalty, purchase frequency and preferred categories. */
function* customerRows(
  rng: RandomGenerator,
  plan: CustomerPlan,
  frequencies: readonly number[],
  pool: Uint8Array,
): Generator<string> {
  const draw = Uint8Array.from(pool);
  let out = csvRow(['customer_id', 'loyalty_score']);
  for (let c = 0; c < plan.size; c++) {
    const loyalty = int(LOYALTY_SCORE.min, LOYALTY_SCORE.max, rng);
    plan.daysLeft[c] = frequencies[int(0, frequencies.length - 1, rng)] ?? 0;
    // k draws without replacement from the weighted pool: a partial Fisher-Yates shuffle
    const k = int(1, plan.maxCategories, rng);
    draw.set(pool);
    for (let i = 0; i < k; i++) {
      const j = int(i, draw.length - 1, rng);
      const picked = draw[j] as number;
      draw[j] = draw[i] as number;
      draw[i] = picked;
      plan.categories[c * plan.maxCategories + i] = picked;
    }
    plan.categoryCount[c] = k;
    out += `C${c + 1},${loyalty}\r\n`;
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  if (out) yield out;
}

const TIME_OF_MINUTE: string[] = Array.from({ length: 1440 }, (_, m) => {
  const hh = String(Math.floor(m / 60)).padStart(2, '0');
  const mm = String(m % 60).padStart(2, '0');
  return `${hh}:${mm}:00`;
});

/** One day file: customers in id order, as the original wrote them. */
function* dayLines(
  rng: RandomGenerator,
  plan: CustomerPlan,
  day: string,
  daysLeftInPeriod: number,
  productIds: readonly string[][],
  summary: GenerateSummary,
): Generator<string> {
  let out = '';
  for (let c = 0; c < plan.size; c++) {
    const left = plan.daysLeft[c] as number;
    if (left === 0) continue;
    // selection sampling: buy today with probability left / daysLeftInPeriod
    if (int(0, daysLeftInPeriod - 1, rng) >= left) continue;
    plan.daysLeft[c] = left - 1;

    const k = plan.categoryCount[c] as number;
    const category = plan.categories[c * plan.maxCategories + int(0, k - 1, rng)] as number;
    const products = productIds[category] as readonly string[];
    const size = int(BASKET_SIZE.min, BASKET_SIZE.max, rng);
    const basket: BasketItem[] = [];
    for (let i = 0; i < size; i++) {
      const productId = products[int(0, products.length - 1, rng)] as string;
      basket.push({ product_id: productId, price: int(PRICE.min, PRICE.max, rng) });
    }
    const minute = int(PURCHASE_MINUTE.min, PURCHASE_MINUTE.max, rng);
    out += formatTransaction({
      customer_id: `C${c + 1}`,
      basket,
      date_of_purchase: `${day} ${TIME_OF_MINUTE[minute]}`,
    });
    out += '\n';
    summary.transactions++;
    summary.items += size;
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  if (out) yield out;
}
