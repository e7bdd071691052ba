/**
 * The ledger on a real DuckDB: triage before loading, and what the views of shared/ingest/schema.ts
 * make of appended events (which load is live, what status a unit has). Events are written here
 * directly, as the flow writes them, so the views are tested on their own.
 */
import path from 'node:path';
import { defaultRegistry } from '../../shared/datasets';
import { appendEvents, compareSequencers, triage, type LedgerEvent } from '../../shared/ingest/ledger';
import type { FileUnit } from '../../shared/ingest/types';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { fileUnit, scratchDir } from '../support/factories';

const transactions = defaultRegistry.get('transactions');
const customers = defaultRegistry.get('customers');

describe('compareSequencers', () => {
  it('orders hex sequencers of different lengths after left-padding', () => {
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E6')).toBeLessThan(0);
    expect(compareSequencers('FF', '0100')).toBeLessThan(0);
    expect(compareSequencers('00ff', 'FF')).toBe(0);
    expect(compareSequencers('1A', '19')).toBeGreaterThan(0);
  });
});

describe('the ledger (real DuckDB)', () => {
  let wh: DuckDbWarehouse;
  let remove: () => void;
  let n = 0;

  beforeEach(() => {
    const scratch = scratchDir();
    remove = scratch.remove;
    wh = new DuckDbWarehouse(path.join(scratch.dir, 'w.duckdb'));
  });
  afterEach(async () => {
    await wh.close();
    remove();
  });

  const record = (unit: FileUnit, status: LedgerEvent['status'], extra: Partial<LedgerEvent> = {}, at = new Date(Date.UTC(2024, 0, 1, 0, 0, ++n))) =>
    wh.transaction((tx) =>
      appendEvents(
        tx,
        [{ unit, status, replaces: unit.dataset === 'transactions' ? 'key' : 'dataset', loadId: status === 'loaded' || status === 'held' ? `L${n}` : undefined, rowsLoaded: 1, ...extra }],
        at,
      ),
    );
  const ledger = async () =>
    (await wh.query<{ key: string; version: string; status: string }>(`select key, version, status from raw.file_ledger order by key, version`)).map(
      (r) => `${r.key} ${r.version} ${r.status}`,
    );

  it('keeps one unit per key in a batch: the newest sequencer; the same version twice is a duplicate', async () => {
    const key = 'transactions/d=2019-10-01/a.json';
    const old = fileUnit({ key, etag: 'v1', sequencer: '0A' });
    const newer = fileUnit({ key, etag: 'v2', sequencer: '0B' });
    const again = { ...newer };
    const other = fileUnit();
    const { toLoad, settled, events } = await triage(wh, transactions, [newer, old, again, other]);
    expect(toLoad).toEqual([newer, other]);
    expect(settled.map((s) => [s.unit.etag, s.status])).toEqual([
      ['v1', 'superseded'],
      ['v2', 'duplicate'],
    ]);
    expect(events.map((e) => [e.unit.etag, e.status])).toEqual([['v1', 'superseded']]);
  });

  it('treats a loaded version as a duplicate, and an older sequencer than the live one as superseded', async () => {
    const key = 'transactions/d=2019-10-02/a.json';
    const v2 = fileUnit({ key, etag: 'v2', sequencer: '0B' });
    await record(v2, 'loaded');
    const { toLoad, settled } = await triage(wh, transactions, [{ ...v2 }]);
    expect(toLoad).toEqual([]);
    expect(settled[0]?.status).toBe('duplicate');
    const late = await triage(wh, transactions, [fileUnit({ key, etag: 'v1', sequencer: '0A' })]);
    expect(late.settled.map((s) => s.status)).toEqual(['superseded']);
    const next = fileUnit({ key, etag: 'v3', sequencer: '0C' });
    expect((await triage(wh, transactions, [next])).toLoad).toEqual([next]);
  });

  it('lets a failed or pending version be tried again', async () => {
    const failed = fileUnit({ etag: 'bad' });
    const pending = fileUnit({ etag: 'later' });
    await record(failed, 'failed', { firstError: 'corrupt gzip' });
    await record(pending, 'pending');
    expect((await triage(wh, transactions, [{ ...failed }, { ...pending }])).toLoad).toHaveLength(2);
  });

  it('shows the newest sequencer of a key as loaded and the version it took over from as replaced', async () => {
    const key = 'transactions/d=2019-10-03/a.json';
    await record(fileUnit({ key, etag: 'b', version: 'b', sequencer: '0B' }), 'loaded');
    // an older version committed later (out of order): it never becomes live
    await record(fileUnit({ key, etag: 'a', version: 'a', sequencer: '0A' }), 'loaded');
    expect(await ledger()).toEqual([`${key} a replaced`, `${key} b loaded`]);
  });

  it('counts the first committed load of a version: a second load of it (a race) is not a second copy', async () => {
    const unit = fileUnit({ version: 'v', etag: 'v' });
    await record(unit, 'loaded', { loadId: 'first' });
    await record({ ...unit }, 'loaded', { loadId: 'second' });
    expect(await wh.query(`select load_id from raw.live_loads`)).toEqual([{ load_id: 'first' }]);
    expect(await ledger()).toEqual([`${unit.key} v loaded`]);
  });

  it('orders snapshots by the store’s last-modified time across keys, never by the event time', async () => {
    const at = (iso: string) => new Date(iso);
    const a = fileUnit({ dataset: 'customers', key: 'customers.csv', version: 'a', eventTime: '2099-01-01T00:00:00.000Z' });
    const b = fileUnit({ dataset: 'customers', key: 'starter/customers.csv', version: 'b', eventTime: '2019-10-01T11:00:00.000Z' });
    await record(a, 'loaded', { lastModified: at('2019-10-01T10:00:00Z') });
    await record(b, 'loaded', { lastModified: at('2019-10-01T11:00:00Z') });
    expect(await ledger()).toEqual(['customers.csv a replaced', 'starter/customers.csv b loaded']);
    // a snapshot in triage is never settled by time: the flow decides once it knows last-modified
    expect((await triage(wh, customers, [fileUnit({ dataset: 'customers', key: 'old/customers.csv' })])).toLoad).toHaveLength(1);
  });

  it('keeps a held snapshot out of the live set until it is confirmed', async () => {
    const live = fileUnit({ dataset: 'customers', key: 'customers.csv', version: 'live' });
    const empty = fileUnit({ dataset: 'customers', key: 'customers.csv', version: 'empty' });
    await record(live, 'loaded', { lastModified: new Date('2024-01-01T00:00:00Z') });
    await record(empty, 'held', { lastModified: new Date('2024-01-02T00:00:00Z'), firstError: 'held: 0 rows would replace 10' });
    expect(await ledger()).toEqual(['customers.csv empty held', 'customers.csv live loaded']);
    await record(empty, 'confirmed');
    expect(await ledger()).toEqual(['customers.csv empty loaded', 'customers.csv live replaced']);
  });
});
