/**
 * The sample data generator against the documented behaviour of the original generator
 * (docs/data-generator.md) and the byte format of its real output
 * (test/fixtures/original-generator-3m/, from the handbook). Expected values are computed here from the documented
 * parameters, never taken from the generator's own output.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '../../shared/errors';
import { CATEGORIES, PRODUCTS, type Category } from '../../shared/products';
import {
  categoryPool,
  formatTransaction,
  generateSampleData,
  type GenerateOptions,
} from '../../local/generator';
import { parseGenerateArgs } from '../../local/cli/generate';
import { ORIGINAL_FIXTURE } from '../support/fixtures';

const FIXTURE = ORIGINAL_FIXTURE;

// The documented distributions, restated independently of local/generator/distributions.ts.
const DOC = {
  categoryWeights: { house: 15, clothes: 5, fruit_veg: 25, sweets: 20, food: 25, bws: 10 } as Record<
    string,
    number
  >,
  frequencyDivisors: [14, 10, 7, 5, 4, 3],
  firstMinute: 2 * 60 + 48,
  lastMinute: 23 * 60 + 59,
};

interface Tx {
  customer_id: string;
  basket: { product_id: string; price: number }[];
  date_of_purchase: string;
}

interface Dataset {
  dir: string;
  customersCsv: string;
  productsCsv: string;
  days: string[];
  /** transactions per day directory, in file order */
  byDay: Map<string, Tx[]>;
  rawByDay: Map<string, string>;
}

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'generator-test-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function utcDate(text: string): Date {
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d));
}

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Every date from start to end inclusive, by stepping one UTC day at a time. */
function dateRange(start: string, end: string): string[] {
  const out: string[] = [];
  for (let d = utcDate(start); d <= utcDate(end); d = new Date(d.getTime() + 86_400_000)) out.push(iso(d));
  return out;
}

/** The same day-of-month `months` earlier, clamped to that month's length (the documented rule). */
function monthsBefore(end: string, months: number): string {
  const e = utcDate(end);
  const targetMonth = e.getUTCMonth() - months;
  const lengthOfTarget = new Date(Date.UTC(e.getUTCFullYear(), targetMonth + 1, 0)).getUTCDate();
  return iso(new Date(Date.UTC(e.getUTCFullYear(), targetMonth, Math.min(e.getUTCDate(), lengthOfTarget))));
}

async function generate(name: string, opts: Partial<GenerateOptions>): Promise<Dataset> {
  const dir = path.join(tmp, name);
  await generateSampleData({ outDir: dir, months: 3, customers: 50, seed: 1, end: '2020-01-01', ...opts });
  return readDataset(dir);
}

async function readDataset(dir: string): Promise<Dataset> {
  const days = (await readdir(path.join(dir, 'transactions'))).sort();
  const byDay = new Map<string, Tx[]>();
  const rawByDay = new Map<string, string>();
  for (const d of days) {
    const raw = await readFile(path.join(dir, 'transactions', d, 'transactions.json'), 'utf8');
    rawByDay.set(d, raw);
    byDay.set(
      d,
      raw
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Tx),
    );
  }
  return {
    dir,
    customersCsv: await readFile(path.join(dir, 'customers.csv'), 'utf8'),
    productsCsv: await readFile(path.join(dir, 'products.csv'), 'utf8'),
    days,
    byDay,
    rawByDay,
  };
}

async function treeHash(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out.set(
      path.relative(dir, full),
      createHash('sha256')
        .update(await readFile(full))
        .digest('hex'),
    );
  }
  return out;
}

function allTransactions(ds: Dataset): Tx[] {
  return [...ds.byDay.values()].flat();
}

function csvRows(text: string): string[][] {
  return text
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));
}

describe('generator: determinism and layout', () => {
  it('writes the same bytes for the same seed and options', async () => {
    // Prepare
    const opts = { customers: 200, seed: 99 };
    await generate('det-a', opts);
    await generate('det-b', opts);

    // Act
    const [a, b] = [await treeHash(path.join(tmp, 'det-a')), await treeHash(path.join(tmp, 'det-b'))];

    // Assess
    expect(a.size).toBeGreaterThan(90);
    expect([...a.entries()]).toEqual([...b.entries()]);
  });

  it('writes different data for a different seed', async () => {
    // Prepare / Act
    const a = await generate('seed-1', { customers: 200, seed: 1 });
    const b = await generate('seed-2', { customers: 200, seed: 2 });

    // Assess
    expect(a.customersCsv).not.toEqual(b.customersCsv);
    expect([...a.rawByDay.values()].join('')).not.toEqual([...b.rawByDay.values()].join(''));
  });

  it('lays files out as customers.csv, products.csv and one transactions file per day, end day included', async () => {
    // Prepare / Act
    const ds = await generate('layout', {});

    // Assess
    const top = (await readdir(ds.dir)).sort();
    expect(top).toEqual(['customers.csv', 'products.csv', 'transactions']);
    const expectedDays = dateRange('2019-10-01', '2020-01-01');
    expect(expectedDays).toHaveLength(93); // the original fixture has 93 day folders too
    expect(ds.days).toEqual(expectedDays.map((d) => `d=${d}`));
    for (const d of ds.days) {
      expect(await readdir(path.join(ds.dir, 'transactions', d))).toEqual(['transactions.json']);
    }
    const fixtureDays = (await readdir(path.join(FIXTURE, 'transactions'))).sort();
    expect(ds.days).toEqual(fixtureDays);
  });

  it('respects --end and --months, clamping to the end of a shorter month', async () => {
    // Prepare
    const cases = [
      { end: '2020-03-31', months: 1 }, // February 2020 has no 31st: starts 2020-02-29
      { end: '2019-06-15', months: 12 },
    ];
    for (const c of cases) {
      // Act
      const ds = await generate(`range-${c.end}-${c.months}`, { ...c, customers: 30 });

      // Assess
      const expected = dateRange(monthsBefore(c.end, c.months), c.end);
      expect(ds.days).toEqual(expected.map((d) => `d=${d}`));
      const outside = allTransactions(ds).filter(
        (tx) => tx.date_of_purchase.slice(0, 10) > c.end || tx.date_of_purchase.slice(0, 10) < expected[0]!,
      );
      expect(outside).toEqual([]);
    }
    expect(monthsBefore('2020-03-31', 1)).toBe('2020-02-29');
  });

  it('refuses to write over generated data unless asked, and then replaces only its own files', async () => {
    // Prepare
    const dir = path.join(tmp, 'overwrite');
    await generateSampleData({ outDir: dir, months: 2, customers: 10, seed: 1, end: '2020-01-01' });
    await writeFile(path.join(dir, 'notes.txt'), 'keep me');

    // Act / Assess
    await expect(
      generateSampleData({ outDir: dir, months: 1, customers: 10, seed: 1, end: '2020-01-01' }),
    ).rejects.toThrow(/already holds generated data.*--force/);
    await generateSampleData({
      outDir: dir,
      months: 1,
      customers: 10,
      seed: 1,
      end: '2020-01-01',
      overwrite: true,
    });
    const ds = await readDataset(dir);
    expect(ds.days).toEqual(dateRange('2019-12-01', '2020-01-01').map((d) => `d=${d}`));
    expect(await readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
  });
});

describe('generator: byte format of the original', () => {
  it('writes products.csv byte for byte as the original generator did', async () => {
    // Prepare / Act
    const ds = await generate('products', { customers: 5 });

    // Assess
    expect(ds.productsCsv).toEqual(await readFile(path.join(FIXTURE, 'products.csv'), 'utf8'));
  });

  it('formats each original transaction line exactly as Python json.dumps wrote it', async () => {
    // Prepare
    const days = await readdir(path.join(FIXTURE, 'transactions'));
    const mismatches: { line: string; again: string }[] = [];
    let lines = 0;
    for (const d of days) {
      const raw = await readFile(path.join(FIXTURE, 'transactions', d, 'transactions.json'), 'utf8');
      for (const line of raw.split('\n').filter((l) => l !== '')) {
        // Act
        const again = formatTransaction(JSON.parse(line) as Tx);

        if (again !== line) mismatches.push({ line, again });
        lines++;
      }
    }

    // Assess
    expect(mismatches).toEqual([]);
    expect(lines).toBeGreaterThan(2000);
  });

  it('writes CRLF CSVs with the original headers and LF-terminated JSON Lines with the original key order', async () => {
    // Prepare / Act
    const ds = await generate('format', { customers: 40 });

    // Assess
    expect(ds.customersCsv.startsWith('customer_id,loyalty_score\r\n')).toBe(true);
    expect(ds.customersCsv.endsWith('\r\n')).toBe(true);
    expect(ds.customersCsv.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const shape =
      /^\{"customer_id": "C\d+", "basket": \[\{"product_id": "P\d\d", "price": \d+\}(, \{"product_id": "P\d\d", "price": \d+\})*\], "date_of_purchase": "\d{4}-\d\d-\d\d \d\d:\d\d:00"\}$/;
    const bad: string[] = [];
    let lines = 0;
    for (const raw of ds.rawByDay.values()) {
      if (raw === '') continue;
      expect(raw.endsWith('\n')).toBe(true);
      expect(raw).not.toContain('\r');
      for (const line of raw.split('\n').filter((l) => l !== '')) {
        const keys = Object.keys(JSON.parse(line) as object).join();
        if (!shape.test(line) || keys !== 'customer_id,basket,date_of_purchase') bad.push(line);
        lines++;
      }
    }
    expect(lines).toBeGreaterThan(0);
    expect(bad).toEqual([]);
  });
});

describe('generator: distributions match the documented ones', () => {
  const CUSTOMERS = 3000;
  let ds: Dataset;
  let txs: Tx[];
  let categoryOf: Map<string, string>;

  beforeAll(async () => {
    ds = await generate('distributions', { customers: CUSTOMERS, seed: 2024 });
    txs = allTransactions(ds);
    categoryOf = new Map(
      csvRows(ds.productsCsv)
        .slice(1)
        .map(([id, , cat]) => [id!, cat!]),
    );
  });

  it('numbers customers C1..Cn contiguously with integer loyalty scores 1..10, roughly uniform', () => {
    const rows = csvRows(ds.customersCsv);
    expect(rows[0]).toEqual(['customer_id', 'loyalty_score']);
    const body = rows.slice(1);
    expect(body.map((r) => r[0])).toEqual(Array.from({ length: CUSTOMERS }, (_, i) => `C${i + 1}`));
    const counts = new Map<number, number>();
    expect(body.filter(([, score]) => !/^([1-9]|10)$/.test(score!))).toEqual([]);
    for (const [, score] of body) counts.set(Number(score), (counts.get(Number(score)) ?? 0) + 1);
    for (let s = 1; s <= 10; s++) expect(Math.abs((counts.get(s) ?? 0) / CUSTOMERS - 0.1)).toBeLessThan(0.03);
  });

  it('gives each customer one of the documented purchase frequencies, never two purchases on one day', () => {
    const spanDays = 92; // 2019-10-01 .. 2020-01-01
    const allowed = DOC.frequencyDivisors.map((d) => Math.floor(spanDays / d));
    const perCustomer = new Map<string, Set<string>>();
    const txCount = new Map<string, number>();
    for (const tx of txs) {
      txCount.set(tx.customer_id, (txCount.get(tx.customer_id) ?? 0) + 1);
      const days = perCustomer.get(tx.customer_id) ?? new Set<string>();
      days.add(tx.date_of_purchase.slice(0, 10));
      perCustomer.set(tx.customer_id, days);
    }
    expect(txCount.size).toBe(CUSTOMERS); // with these divisors every customer buys at least 6 times
    const byFrequency = new Map<number, number>();
    const bad: string[] = [];
    for (const [customer, n] of txCount) {
      if (!allowed.includes(n) || perCustomer.get(customer)!.size !== n) bad.push(`${customer}: ${n}`);
      byFrequency.set(n, (byFrequency.get(n) ?? 0) + 1);
    }
    expect(bad).toEqual([]);
    for (const n of allowed)
      expect(Math.abs((byFrequency.get(n) ?? 0) / CUSTOMERS - 1 / 6)).toBeLessThan(0.03);
  });

  it('lists customers in id order within a day file and dates every purchase on its file day, 02:48..23:59', () => {
    let minuteSum = 0;
    const unordered: string[] = [];
    const bad: string[] = [];
    for (const [dir, dayTxs] of ds.byDay) {
      const day = dir.slice(2);
      const ids = dayTxs.map((t) => Number(t.customer_id.slice(1)));
      if (ids.some((id, i) => i > 0 && id <= ids[i - 1]!)) unordered.push(dir);
      for (const tx of dayTxs) {
        const [hh, mm, ss] = tx.date_of_purchase.slice(11).split(':').map(Number) as [number, number, number];
        const minute = hh * 60 + mm;
        const ok =
          tx.date_of_purchase.slice(0, 10) === day &&
          minute >= DOC.firstMinute &&
          minute <= DOC.lastMinute &&
          ss === 0;
        if (!ok) bad.push(`${dir}: ${tx.date_of_purchase}`);
        minuteSum += minute;
      }
    }
    expect(unordered).toEqual([]);
    expect(bad).toEqual([]);
    const meanMinute = minuteSum / txs.length;
    expect(Math.abs(meanMinute - (DOC.firstMinute + DOC.lastMinute) / 2)).toBeLessThan(10);
  });

  it('fills baskets with 1..3 items, roughly uniform, from one category, with known products', () => {
    const sizes = new Map<number, number>();
    const bad: Tx[] = [];
    for (const tx of txs) {
      sizes.set(tx.basket.length, (sizes.get(tx.basket.length) ?? 0) + 1);
      const cats = new Set(tx.basket.map((i) => categoryOf.get(i.product_id)));
      if (cats.has(undefined) || cats.size !== 1) bad.push(tx);
    }
    expect(bad).toEqual([]);
    expect([...sizes.keys()].sort()).toEqual([1, 2, 3]);
    for (const n of [1, 2, 3]) expect(Math.abs(sizes.get(n)! / txs.length - 1 / 3)).toBeLessThan(0.02);
  });

  it('prices items with integers 1..2000, roughly uniform', () => {
    const prices = txs.flatMap((t) => t.basket.map((i) => i.price));
    const quarters = [0, 0, 0, 0];
    expect(prices.filter((p) => !Number.isInteger(p) || p < 1 || p > 2000)).toEqual([]);
    for (const p of prices) quarters[Math.floor((p - 1) / 500)]!++;
    const mean = prices.reduce((a, b) => a + b, 0) / prices.length;
    expect(Math.abs(mean - 1000.5)).toBeLessThan(15);
    for (const q of quarters) expect(Math.abs(q / prices.length - 0.25)).toBeLessThan(0.01);
  });

  it('spreads items over categories in the documented proportions', () => {
    const total = Object.values(DOC.categoryWeights).reduce((a, b) => a + b, 0);
    const counts = new Map<string, number>();
    let items = 0;
    for (const tx of txs) {
      for (const item of tx.basket) {
        const cat = categoryOf.get(item.product_id)!;
        counts.set(cat, (counts.get(cat) ?? 0) + 1);
        items++;
      }
    }
    expect([...counts.keys()].sort()).toEqual(Object.keys(DOC.categoryWeights).sort());
    for (const [cat, weight] of Object.entries(DOC.categoryWeights)) {
      expect(Math.abs(counts.get(cat)! / items - weight / total)).toBeLessThan(0.03);
    }
  });

  it('picks products uniformly within a category', () => {
    const foodIds = [...categoryOf].filter(([, c]) => c === 'food').map(([id]) => id);
    const counts = new Map<string, number>(foodIds.map((id) => [id, 0]));
    for (const tx of txs)
      for (const item of tx.basket)
        if (counts.has(item.product_id)) counts.set(item.product_id, counts.get(item.product_id)! + 1);
    const food = [...counts.values()].reduce((a, b) => a + b, 0);
    for (const n of counts.values())
      expect(Math.abs(n / food - 1 / foodIds.length) / (1 / foodIds.length)).toBeLessThan(0.2);
  });
});

describe('generator: category weights come from one list', () => {
  it('fails loudly when a weighted category has no products (the original generator\'s KeyError)', () => {
    const withoutBws = PRODUCTS.filter((p) => p.category !== 'bws');
    const weights = Object.fromEntries(CATEGORIES.map((c) => [c, DOC.categoryWeights[c]!])) as Record<
      Category,
      number
    >;
    expect(() => categoryPool(weights, withoutBws)).toThrow(/bws has frequency 10 but no products/);
  });

  it('rejects weights that are not non-negative integers', () => {
    const weights = { ...(DOC.categoryWeights as Record<Category, number>), food: 2.5 };
    expect(() => categoryPool(weights, PRODUCTS)).toThrow(InvalidInputError);
  });
});

describe('generate CLI arguments', () => {
  const yesterday = () => '2020-01-01';

  it('applies the documented defaults', () => {
    expect(parseGenerateArgs(['--out', 'x'], yesterday)).toEqual({
      outDir: 'x',
      months: 3,
      customers: 137,
      seed: 42,
      end: '2020-01-01',
      overwrite: false,
    });
  });

  it.each([
    [[], /--out DIR is required/],
    [['--out', 'x', '--months', 'three'], /--months must be a whole number/],
    [['--out', 'x', '--customers', '-5'], /customers/],
    [['--out', 'x', '--colour', 'red'], /Unknown option '--colour'/],
    [['--out', 'x', 'extra'], /positional/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseGenerateArgs(argv as string[], yesterday)).toThrow(message as RegExp);
  });

  it.each([
    [{ months: 0 }, /months must be an integer from 1 to 240/],
    [{ customers: 0 }, /customers must be an integer from 1/],
    [{ seed: 2 ** 32 }, /seed must be an integer from 0 to 4294967295/],
    [{ end: '2019-02-30' }, /not a calendar date/],
    [{ end: '01/02/2019' }, /must be YYYY-MM-DD/],
  ])('the library rejects %j before writing anything', async (bad, message) => {
    const dir = path.join(tmp, 'never-written');
    await expect(
      generateSampleData({ outDir: dir, months: 3, customers: 10, seed: 1, end: '2020-01-01', ...bad }),
    ).rejects.toThrow(message);
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});
