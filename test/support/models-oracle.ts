/**
 * An independent computation of the models, in plain TypeScript over the same input objects the
 * raw fixtures are loaded from (test/support/raw-fixtures.ts). It shares no code with the SQL or
 * the runner: the semantics are re-derived from docs/ARCHITECTURE.md §6 and docs/MODELS.md.
 */
import type { CustomerRow, ProductRow, RawFixture, TransactionLine } from './raw-fixtures';

type Input = Pick<RawFixture, 'customers' | 'products' | 'transactions'>;

export interface PurchaseRow {
  customer_id: string;
  loyalty_score: number | null;
  product_id: string | null;
  product_category: string | null;
  purchase_count: number;
}

export interface MonthlyRow extends PurchaseRow {
  purchase_month: string | null;
}

export type Customer360Row = Record<string, string | number | null>;

export interface NextBestRow {
  customer_id: string;
  recommended_category: string;
  method: 'affinity' | 'popularity';
  score: number;
  categories_bought: number;
}

interface Item {
  customer_id: string;
  product_id: string;
  cents: number;
  at: string;
  month: string;
}

const present = (s: string | null | undefined): s is string => s !== null && s !== undefined && s.trim() !== '';

/** Last row per id wins (the fixtures load one snapshot; lines later in the file win). */
function snapshot<T>(rows: T[] | undefined, id: (r: T) => string | null): Map<string, T> {
  const out = new Map<string, T>();
  for (const r of rows ?? []) {
    const key = id(r);
    if (present(key)) out.set(key, r);
  }
  return out;
}

export function customersById(input: Input): Map<string, CustomerRow> {
  return snapshot(input.customers, (c) => c.customer_id);
}

export function productCategories(input: Input): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const [id, p] of snapshot<ProductRow>(input.products, (p) => p.product_id)) {
    const c = p.product_category?.trim().toLowerCase() ?? '';
    out.set(id, c === '' ? null : c);
  }
  return out;
}

function items(input: Input): Item[] {
  return (input.transactions ?? []).flatMap((t: TransactionLine) =>
    t.basket.map((b) => ({
      customer_id: t.customer_id,
      product_id: b.product_id,
      cents: Math.round(b.price * 100),
      at: t.date_of_purchase,
      month: `${t.date_of_purchase.slice(0, 7)}-01`,
    })),
  );
}

export function expectedMonthly(input: Input): MonthlyRow[] {
  const customers = customersById(input);
  const categories = productCategories(input);
  const counts = new Map<string, MonthlyRow>();
  for (const i of items(input)) {
    const key = JSON.stringify([i.customer_id, i.product_id, i.month]);
    const row = counts.get(key) ?? {
      customer_id: i.customer_id,
      loyalty_score: customers.get(i.customer_id)?.loyalty_score ?? null,
      product_id: i.product_id,
      product_category: categories.get(i.product_id) ?? null,
      purchase_month: i.month,
      purchase_count: 0,
    };
    row.purchase_count += 1;
    counts.set(key, row);
  }
  const buyers = new Set(items(input).map((i) => i.customer_id));
  const zero = [...customers.values()]
    .filter((c) => !buyers.has(c.customer_id as string))
    .map((c) => ({
      customer_id: c.customer_id as string,
      loyalty_score: c.loyalty_score,
      product_id: null,
      product_category: null,
      purchase_month: null,
      purchase_count: 0,
    }));
  return [...counts.values(), ...zero];
}

export function expectedPurchases(input: Input): PurchaseRow[] {
  const out = new Map<string, PurchaseRow>();
  for (const m of expectedMonthly(input)) {
    const key = JSON.stringify([m.customer_id, m.product_id]);
    const row = out.get(key) ?? {
      customer_id: m.customer_id,
      loyalty_score: m.loyalty_score,
      product_id: m.product_id,
      product_category: m.product_category,
      purchase_count: 0,
    };
    row.purchase_count += m.purchase_count;
    out.set(key, row);
  }
  return [...out.values()];
}

export function expectedCustomers(input: Input, categoryList: readonly string[]): Customer360Row[] {
  const categories = productCategories(input);
  const all = items(input);
  return [...customersById(input).values()].map((c) => {
    const id = c.customer_id as string;
    const txs = (input.transactions ?? []).filter((t) => t.customer_id === id);
    const own = all.filter((i) => i.customer_id === id);
    const times = txs.map((t) => t.date_of_purchase).sort();
    const perCategory = Object.fromEntries(categoryList.map((k) => [k, 0]));
    let uncategorised = 0;
    for (const i of own) {
      const cat = categories.get(i.product_id);
      if (cat && cat in perCategory) perCategory[cat] = (perCategory[cat] as number) + i.cents;
      else uncategorised += i.cents;
    }
    const row: Customer360Row = {
      customer_id: id,
      loyalty_score: c.loyalty_score,
      first_purchase_at: times[0] ?? null,
      last_purchase_at: times.at(-1) ?? null,
      transaction_count: txs.length,
      item_count: own.length,
      total_amount: own.reduce((s, i) => s + i.cents, 0) / 100,
    };
    for (const k of categoryList) row[`${k}_amount`] = (perCategory[k] as number) / 100;
    row.uncategorised_amount = uncategorised / 100;
    return row;
  });
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function expectedNextBest(input: Input, categoryList: readonly string[]): NextBestRow[] {
  const categories = productCategories(input);
  // customer -> category -> items, known categories of the list only
  const bought = new Map<string, Map<string, number>>();
  for (const i of items(input)) {
    const cat = categories.get(i.product_id);
    if (!cat || !categoryList.includes(cat)) continue;
    const m = bought.get(i.customer_id) ?? new Map<string, number>();
    m.set(cat, (m.get(cat) ?? 0) + 1);
    bought.set(i.customer_id, m);
  }
  const buyersOf = (cat: string) => [...bought.values()].filter((m) => m.has(cat)).length;
  const allBuyers = bought.size;
  const popularity = (cat: string) => (allBuyers === 0 ? 0 : buyersOf(cat) / allBuyers);
  const confidence = (from: string, to: string) => {
    const fromBuyers = buyersOf(from);
    const both = [...bought.values()].filter((m) => m.has(from) && m.has(to)).length;
    return fromBuyers === 0 ? 0 : both / fromBuyers;
  };
  return [...customersById(input).values()].map((c) => {
    const id = c.customer_id as string;
    const mine = bought.get(id) ?? new Map<string, number>();
    const total = [...mine.values()].reduce((s, n) => s + n, 0);
    const least = Math.min(...categoryList.map((k) => mine.get(k) ?? 0));
    const scored = categoryList
      .filter((k) => (mine.get(k) ?? 0) === least)
      .map((k) => {
        let affinity = 0;
        for (const [a, n] of mine) if (a !== k) affinity += (n / total) * confidence(a, k);
        return { category: k, affinity: round6(affinity), popularity: round6(popularity(k)) };
      })
      .sort((x, y) => y.affinity - x.affinity || y.popularity - x.popularity || (x.category < y.category ? -1 : 1));
    const best = scored[0] as (typeof scored)[number];
    const byAffinity = best.affinity > 0;
    return {
      customer_id: id,
      recommended_category: best.category,
      method: byAffinity ? 'affinity' : 'popularity',
      score: byAffinity ? best.affinity : best.popularity,
      categories_bought: mine.size,
    };
  });
}

/** Sort rows by their JSON, for order-insensitive comparison. */
export function sortRows<T extends object>(rows: T[]): T[] {
  const key = (r: T) => JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
