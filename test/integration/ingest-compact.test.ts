/**
 * Compaction (shared/ingest/compact.ts, docs/OPERATIONS.md "Compaction"): the hot path only appends,
 * so a key uploaded again, a replaced snapshot and a duplicate delivery leave rows no view shows.
 * Compaction deletes exactly those: every view reads the same before and after, the rows of the live,
 * held and cut loads stay, and a second run deletes nothing. The expected counts are worked out from
 * the uploads here, not read from the code. And the cut a rebuild reads (fixCut, raw.<table>__cut)
 * does not move while files arrive.
 */
import { defaultRegistry } from '../../shared/datasets';
import { compact, fixCut } from '../../shared/ingest/compact';
import { warehouse } from '../../shared/warehouse';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useLocalStack } from '../support/stack';

jest.setTimeout(120_000);

const ctx = useLocalStack({ visibilityTimeoutSeconds: 1, batchWindowMs: 50 });

const put = async (key: string, body: string) => {
  await ctx.s3.send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: body }));
  await ctx.stack.waitForIdle({ timeoutMs: 60_000, settleMs: 300 });
};
const tx = (c: string, p = 'P01') => JSON.stringify({ customer_id: c, basket: [{ product_id: p, price: 1 }], date_of_purchase: '2024-01-01 10:00:00' });
const count = async (sql: string) => Number((await warehouse().query<{ n: number }>(sql))[0]!.n);
const viewState = async () => ({
  customers: await warehouse().query(`select customer_id, loyalty_score from raw.customers order by customer_id`),
  transactions: await warehouse().query(`select customer_id, _file_key from raw.transactions order by customer_id`),
  items: await count(`select count(*) as n from raw.transaction_items`),
  quarantine: await warehouse().query(`select line_number, reason from raw.quarantine order by line_number`),
});

it('deletes the replaced loads only: every view reads the same, a second run deletes nothing', async () => {
  // a day file, then new content under the same key (the first load is replaced: 2 rows, 2 items, 1 bad line)
  await put('transactions/d=2024-01-01/t.json', `${tx('C1')}\n${tx('C2')}\nnot json\n`);
  await put('transactions/d=2024-01-01/t.json', `${tx('C3')}\n`);
  // another day that stays live
  await put('transactions/d=2024-01-02/t.json', `${tx('C4')}\n${tx('C5')}\n`);
  // a snapshot, then a newer one (the first is replaced: 3 rows)
  await put('customers.csv', 'customer_id,loyalty_score\nC1,1\nC2,2\nC3,3\n');
  await put('customers.csv', 'customer_id,loyalty_score\nC1,5\nC2,6\nC3,7\n');

  const before = await viewState();
  expect(before.transactions.map((r) => (r as { customer_id: string }).customer_id)).toEqual(['C3', 'C4', 'C5']);
  expect(await count(`select count(*) as n from raw.transactions_appended`)).toBe(2 + 1 + 2);
  expect(await count(`select count(*) as n from raw.customers_appended`)).toBe(6);

  const report = await compact(warehouse(), defaultRegistry);
  expect(report.deleted).toMatchObject({ transactions: 2, transaction_items: 2, customers: 3, quarantine: 1 });
  expect(await viewState()).toEqual(before);
  expect(await count(`select count(*) as n from raw.transactions_appended`)).toBe(3);
  expect(await count(`select count(*) as n from raw.customers_appended`)).toBe(3);

  // idempotent
  const again = await compact(warehouse(), defaultRegistry);
  expect(Object.values(again.deleted).every((n) => n === 0)).toBe(true);
  expect(await viewState()).toEqual(before);
});

it("keeps the rows of the rebuild's cut, even when a newer load has replaced them since", async () => {
  await put('transactions/d=2024-01-03/t.json', `${tx('C6')}\n`);
  await fixCut(warehouse());
  // replaced after the cut was fixed: the cut's rows must stay until the next cut
  await put('transactions/d=2024-01-03/t.json', `${tx('C7')}\n`);
  const report = await compact(warehouse(), defaultRegistry);
  expect(report.deleted.transactions).toBe(0);
  expect(await count(`select count(*) as n from raw.transactions_appended where customer_id = 'C6'`)).toBe(1);
  // once the cut moves on, they go
  await fixCut(warehouse());
  expect((await compact(warehouse(), defaultRegistry)).deleted.transactions).toBe(1);
  expect(await count(`select count(*) as n from raw.transactions_appended where customer_id = 'C6'`)).toBe(0);
});

it('the cut a rebuild reads stays as it was fixed while files keep arriving', async () => {
  await fixCut(warehouse());
  const cut = await warehouse().query(`select customer_id, _file_key from raw.transactions__cut order by customer_id`);
  expect(cut).toEqual(await warehouse().query(`select customer_id, _file_key from raw.transactions order by customer_id`));
  // a new day and a replaced one arrive during the rebuild: live views move, the cut does not
  await put('transactions/d=2024-01-04/t.json', `${tx('C8')}\n`);
  await put('transactions/d=2024-01-02/t.json', `${tx('C9')}\n`);
  const live = (await warehouse().query<{ customer_id: string }>(`select customer_id from raw.transactions order by customer_id`)).map((r) => r.customer_id);
  expect(live).toEqual(['C3', 'C7', 'C8', 'C9']);
  expect(await warehouse().query(`select customer_id, _file_key from raw.transactions__cut order by customer_id`)).toEqual(cut);
});
