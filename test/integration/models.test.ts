/**
 * Every model against an independent TypeScript computation (test/support/models-oracle.ts) over
 * the same input objects: the original generator's output, seeded generated data full of edge
 * cases, and small hand-made fixtures whose expected rows are also written out literally.
 */
import { CATEGORIES } from '../../shared/products';
import { buildModels } from '../../shared/models/runner';
import type { Row, Warehouse } from '../../shared/warehouse/port';
import {
  expectedCustomers,
  expectedMonthly,
  expectedNextBest,
  expectedPurchases,
  sortRows,
} from '../support/models-oracle';
import {
  clearRaw,
  insertRaw,
  readInputFolder,
  type RawFixture,
  type TransactionLine,
} from '../support/raw-fixtures';
import { ORIGINAL_FIXTURE } from '../support/fixtures';
import { scratchWarehouse } from '../support/factories';

const FIXTURE_DIR = ORIGINAL_FIXTURE;

let scratch: ReturnType<typeof scratchWarehouse>;
let wh: Warehouse;

beforeAll(() => {
  scratch = scratchWarehouse('models-');
  wh = scratch.wh;
});

afterAll(async () => {
  await scratch.close();
});

async function buildFrom(fixture: RawFixture): Promise<void> {
  await clearRaw(wh);
  await insertRaw(wh, fixture);
  await buildModels(wh);
}

const purchases = () => wh.query('select * from analytics.customer_product_purchases');
const monthly = () => wh.query('select * from analytics.customer_product_purchases_monthly');
const customers = () => wh.query('select * from analytics.customers');
const nextBest = () => wh.query('select * from analytics.next_best_category');

/** Seeded PRNG (mulberry32), so a failure is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generated data with every edge case of docs/ARCHITECTURE.md §6 mixed in at random. */
function generated(seed: number): RawFixture {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const customers = Array.from({ length: 60 }, (_, i) => ({
    customer_id: `C${i + 1}`,
    loyalty_score: rnd() < 0.05 ? null : 1 + Math.floor(rnd() * 10),
  }));
  // duplicated ids in the snapshot: the later line wins
  customers.push({ customer_id: 'C3', loyalty_score: 10 }, { customer_id: 'C7', loyalty_score: 1 });
  customers.push(
    { customer_id: '', loyalty_score: 5 },
    { customer_id: null as unknown as string, loyalty_score: 2 },
  );
  const products = Array.from({ length: 30 }, (_, i) => ({
    product_id: `P${String(i + 1).padStart(2, '0')}`,
    product_description: `product ${i + 1}`,
    product_category: pick(CATEGORIES) as string,
  }));
  // off-list and untidy categories
  products.push(
    { product_id: 'P31', product_description: 'garden hose', product_category: 'garden' },
    { product_id: 'P32', product_description: 'shouting', product_category: ' HOUSE ' },
    { product_id: 'P33', product_description: 'mystery', product_category: '' },
  );
  const productIds = [...products.map((p) => p.product_id), 'P98', 'P99']; // P98, P99 unknown
  const buyerIds = [...customers.slice(0, 50).map((c) => c.customer_id as string), 'X1', 'X2']; // C51-C60 never buy; X* unknown
  const transactions: TransactionLine[] = Array.from({ length: 700 }, () => {
    const size = Math.floor(rnd() * 5); // 0..4 items; an empty basket is a valid transaction
    const first = pick(productIds);
    const basket = Array.from({ length: size }, () => ({
      product_id: rnd() < 0.3 ? first : pick(productIds), // the same product twice in a basket
      price: Math.round(rnd() * 200000) / 100,
    }));
    const day = 1 + Math.floor(rnd() * 27);
    const month = 1 + Math.floor(rnd() * 14);
    const year = month > 12 ? 2024 : 2023;
    const mm = String(month > 12 ? month - 12 : month).padStart(2, '0');
    const time = `${String(Math.floor(rnd() * 24)).padStart(2, '0')}:${String(Math.floor(rnd() * 60)).padStart(2, '0')}:00`;
    return {
      customer_id: pick(buyerIds),
      basket,
      date_of_purchase: `${year}-${mm}-${String(day).padStart(2, '0')} ${time}`,
    };
  });
  return { customers, products, transactions };
}

function normaliseCustomers(rows: Row[]) {
  return rows.map((r) => ({ ...r }));
}

function expectNextBestMatches(actual: Row[], fixture: RawFixture): void {
  const expected = expectedNextBest(fixture, CATEGORIES);
  const byId = new Map(actual.map((r) => [r.customer_id, r]));
  expect(actual).toHaveLength(expected.length);
  for (const e of expected) {
    const a = byId.get(e.customer_id);
    expect({ ...a, score: undefined }).toEqual({ ...e, score: undefined });
    expect(a?.score as number).toBeCloseTo(e.score, 6);
  }
}

describe.each([
  ['the original generator output (137 customers, 3 months)', () => readInputFolder(FIXTURE_DIR)],
  ['generated data with edge cases, seed 1', () => generated(1)],
  ['generated data with edge cases, seed 2', () => generated(2)],
])('models on %s', (_label, make) => {
  const fixture = make();

  beforeAll(async () => {
    await buildFrom(fixture);
  });

  it('customer_product_purchases equals the independent computation', async () => {
    // Act
    const actual = await purchases();
    // Assess
    expect(sortRows(actual)).toEqual(sortRows(expectedPurchases(fixture)));
  });

  it('customer_product_purchases_monthly equals the independent computation', async () => {
    const actual = await monthly();
    expect(sortRows(actual)).toEqual(sortRows(expectedMonthly(fixture)));
  });

  it('customers (360) equals the independent computation', async () => {
    const actual = await customers();
    expect(sortRows(normaliseCustomers(actual))).toEqual(sortRows(expectedCustomers(fixture, CATEGORIES)));
  });

  it('next_best_category equals the independent computation', async () => {
    expectNextBestMatches(await nextBest(), fixture);
  });
});

describe('the purchase view contract', () => {
  it('has exactly the five columns, in order', async () => {
    // Prepare
    await buildFrom(generated(3));
    // Act
    const columns = await wh.describeTable({ schema: 'analytics', table: 'customer_product_purchases' });
    const [kind] = await wh.query(
      `select table_type from information_schema.tables where table_schema = 'analytics' and table_name = 'customer_product_purchases'`,
    );
    // Assess
    expect(columns.map((c) => c.name)).toEqual([
      'customer_id',
      'loyalty_score',
      'product_id',
      'product_category',
      'purchase_count',
    ]);
    expect(kind?.table_type).toBe('VIEW');
  });
});

describe('hand-made edge cases', () => {
  const fixture: RawFixture = {
    customers: [
      { customer_id: 'C1', loyalty_score: 7 },
      { customer_id: 'C2', loyalty_score: 4 }, // buys nothing
      { customer_id: 'C3', loyalty_score: 9 }, // only an empty basket
    ],
    products: [
      { product_id: 'P1', product_category: 'house' },
      { product_id: 'P2', product_category: 'bws' },
    ],
    transactions: [
      // the same product twice in one basket counts 2
      {
        customer_id: 'C1',
        date_of_purchase: '2024-01-05 10:00:00',
        basket: [
          { product_id: 'P1', price: 1.5 },
          { product_id: 'P1', price: 1.5 },
        ],
      },
      {
        customer_id: 'C1',
        date_of_purchase: '2024-02-01 00:00:00',
        basket: [
          { product_id: 'P1', price: 2 },
          { product_id: 'P9', price: 3 },
        ],
      },
      // unknown customer
      {
        customer_id: 'Z9',
        date_of_purchase: '2024-02-03 12:00:00',
        basket: [{ product_id: 'P2', price: 10 }],
      },
      { customer_id: 'C3', date_of_purchase: '2024-01-31 23:59:59', basket: [] },
    ],
  };

  beforeAll(async () => {
    await buildFrom(fixture);
  });

  it('counts items, keeps unknowns with NULLs and gives buyers of nothing one zero row', async () => {
    // Act
    const actual = sortRows(await purchases());
    // Assess: written out by hand, and the same as the oracle
    const expected = sortRows([
      { customer_id: 'C1', loyalty_score: 7, product_id: 'P1', product_category: 'house', purchase_count: 3 },
      { customer_id: 'C1', loyalty_score: 7, product_id: 'P9', product_category: null, purchase_count: 1 },
      {
        customer_id: 'Z9',
        loyalty_score: null,
        product_id: 'P2',
        product_category: 'bws',
        purchase_count: 1,
      },
      { customer_id: 'C2', loyalty_score: 4, product_id: null, product_category: null, purchase_count: 0 },
      { customer_id: 'C3', loyalty_score: 9, product_id: null, product_category: null, purchase_count: 0 },
    ]);
    expect(actual).toEqual(expected);
    expect(actual).toEqual(sortRows(expectedPurchases(fixture)));
  });

  it('splits the counts by purchase month', async () => {
    const actual = sortRows(await monthly());
    expect(actual).toEqual(
      sortRows([
        {
          customer_id: 'C1',
          loyalty_score: 7,
          product_id: 'P1',
          product_category: 'house',
          purchase_month: '2024-01-01',
          purchase_count: 2,
        },
        {
          customer_id: 'C1',
          loyalty_score: 7,
          product_id: 'P1',
          product_category: 'house',
          purchase_month: '2024-02-01',
          purchase_count: 1,
        },
        {
          customer_id: 'C1',
          loyalty_score: 7,
          product_id: 'P9',
          product_category: null,
          purchase_month: '2024-02-01',
          purchase_count: 1,
        },
        {
          customer_id: 'Z9',
          loyalty_score: null,
          product_id: 'P2',
          product_category: 'bws',
          purchase_month: '2024-02-01',
          purchase_count: 1,
        },
        {
          customer_id: 'C2',
          loyalty_score: 4,
          product_id: null,
          product_category: null,
          purchase_month: null,
          purchase_count: 0,
        },
        {
          customer_id: 'C3',
          loyalty_score: 9,
          product_id: null,
          product_category: null,
          purchase_month: null,
          purchase_count: 0,
        },
      ]),
    );
  });

  it('customer 360: amounts per category, uncategorised for unknown products, zeros for buyers of nothing', async () => {
    const rows = new Map((await customers()).map((r) => [r.customer_id, r]));
    expect(rows.get('C1')).toMatchObject({
      first_purchase_at: '2024-01-05 10:00:00',
      last_purchase_at: '2024-02-01 00:00:00',
      transaction_count: 2,
      item_count: 4,
      total_amount: 8,
      house_amount: 5,
      bws_amount: 0,
      uncategorised_amount: 3,
    });
    expect(rows.get('C2')).toMatchObject({
      first_purchase_at: null,
      transaction_count: 0,
      item_count: 0,
      total_amount: 0,
      house_amount: 0,
    });
    expect(rows.get('C3')).toMatchObject({
      first_purchase_at: '2024-01-31 23:59:59',
      transaction_count: 1,
      item_count: 0,
      total_amount: 0,
    });
    expect(rows.has('Z9')).toBe(false);
    expect(sortRows(await customers())).toEqual(sortRows(expectedCustomers(fixture, CATEGORIES)));
  });

  it('next best category: affinity when co-buyers exist, popularity otherwise', async () => {
    const rows = new Map((await nextBest()).map((r) => [r.customer_id, r]));
    // C1 bought house only and nobody else co-buys house: no affinity, so the most popular unbought
    // category wins: bws (bought by Z9, 1 of 2 buyers)
    expect(rows.get('C1')).toMatchObject({
      recommended_category: 'bws',
      method: 'popularity',
      score: 0.5,
      categories_bought: 1,
    });
    // C2 bought nothing: the most popular category overall; house and bws tie at 0.5, name breaks the tie
    expect(rows.get('C2')).toMatchObject({
      recommended_category: 'bws',
      method: 'popularity',
      score: 0.5,
      categories_bought: 0,
    });
    expectNextBestMatches(await nextBest(), fixture);
  });
});

describe('next best category by affinity', () => {
  it("recommends what buyers of the same categories also buy, weighted by the customer's mix", async () => {
    // Prepare: A1..A3 buy house+sweets, B1..B2 buy food+bws; C1 buys mostly house -> sweets
    const basket = (ids: string[]) => ids.map((product_id) => ({ product_id, price: 1 }));
    const tx = (customer_id: string, ids: string[]): TransactionLine => ({
      customer_id,
      date_of_purchase: '2024-03-01 10:00:00',
      basket: basket(ids),
    });
    const fixture: RawFixture = {
      customers: ['A1', 'A2', 'A3', 'B1', 'B2', 'C1'].map((customer_id) => ({
        customer_id,
        loyalty_score: 5,
      })),
      products: [
        { product_id: 'H', product_category: 'house' },
        { product_id: 'S', product_category: 'sweets' },
        { product_id: 'F', product_category: 'food' },
        { product_id: 'W', product_category: 'bws' },
      ],
      transactions: [
        tx('A1', ['H', 'S']),
        tx('A2', ['H', 'S']),
        tx('A3', ['H', 'S']),
        tx('B1', ['F', 'W']),
        tx('B2', ['F', 'W']),
        tx('C1', ['H', 'H', 'H', 'F']),
      ],
    };
    await buildFrom(fixture);
    // Act
    const rows = new Map((await nextBest()).map((r) => [r.customer_id, r]));
    // Assess: confidence(house->sweets) = 3/4, confidence(food->bws) = 2/3; C1's mix is 3/4 house, 1/4 food
    // sweets: 0.75 * 0.75 = 0.5625; bws: 0.25 * 2/3 = 0.166667
    expect(rows.get('C1')).toMatchObject({ recommended_category: 'sweets', method: 'affinity' });
    expect(rows.get('C1')?.score).toBeCloseTo(0.5625, 6);
    expectNextBestMatches([...rows.values()], fixture);
  });
});
