import path from 'node:path';
import { compareSequencers, recordOutcome, triage } from '../../shared/ingest/ledger';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { fileUnit, scratchDir } from '../support/factories';

describe('compareSequencers', () => {
  it('orders hex sequencers of different lengths after left-padding', () => {
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E6')).toBeLessThan(0);
    expect(compareSequencers('FF', '0100')).toBeLessThan(0);
    expect(compareSequencers('00ff', 'FF')).toBe(0);
    expect(compareSequencers('1A', '19')).toBeGreaterThan(0);
  });
});

describe('ledger triage (real DuckDB)', () => {
  let wh: DuckDbWarehouse;
  let remove: () => void;

  beforeEach(() => {
    const scratch = scratchDir();
    remove = scratch.remove;
    wh = new DuckDbWarehouse(path.join(scratch.dir, 'w.duckdb'));
  });
  afterEach(async () => {
    await wh.close();
    remove();
  });

  const loaded = (unit: ReturnType<typeof fileUnit>) =>
    wh.transaction((tx) => recordOutcome(tx, { unit, status: 'loaded', rowsLoaded: 1, rowsQuarantined: 0 }));

  it('keeps one unit per key in a batch: the newest sequencer; same version twice is a duplicate', async () => {
    // Prepare
    const key = 'transactions/d=2019-10-01/a.json';
    const old = fileUnit({ key, etag: 'v1', sequencer: '0A' });
    const newer = fileUnit({ key, etag: 'v2', sequencer: '0B' });
    const again = { ...newer };
    const other = fileUnit();
    // Act
    const { toLoad, settled } = await triage(wh, [newer, old, again, other]);
    // Assess
    expect(toLoad).toEqual([newer, other]);
    expect(settled.map((s) => [s.unit.etag, s.status])).toEqual([
      ['v1', 'superseded'],
      ['v2', 'duplicate'],
    ]);
  });

  it('treats an already loaded version as a duplicate and an older sequencer than the loaded one as superseded', async () => {
    const key = 'transactions/d=2019-10-02/a.json';
    const v2 = fileUnit({ key, etag: 'v2', sequencer: '0B' });
    await loaded(v2);
    const { toLoad, settled } = await triage(wh, [{ ...v2 }]);
    expect(toLoad).toEqual([]);
    expect(settled[0]?.status).toBe('duplicate');
    const late = await triage(wh, [fileUnit({ key, etag: 'v1', sequencer: '0A' })]);
    expect(late.settled.map((s) => s.status)).toEqual(['superseded']);
    const next = fileUnit({ key, etag: 'v3', sequencer: '0C' });
    expect((await triage(wh, [next])).toLoad).toEqual([next]);
  });

  it('lets a failed version be retried', async () => {
    const unit = fileUnit({ etag: 'bad' });
    await wh.transaction((tx) => recordOutcome(tx, { unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0 }, 'corrupt gzip'));
    expect((await triage(wh, [{ ...unit }])).toLoad).toHaveLength(1);
  });

  it('orders snapshots across keys by event time, against the batch and the loaded snapshot', async () => {
    const a = fileUnit({ dataset: 'customers', key: 'customers.csv', eventTime: '2019-10-01T10:00:00.000Z' });
    const b = fileUnit({ dataset: 'customers', key: 'starter/customers.csv', eventTime: '2019-10-01T11:00:00.000Z' });
    const first = await triage(wh, [b, a]);
    expect(first.toLoad).toEqual([b]);
    expect(first.settled.map((s) => [s.unit.key, s.status])).toEqual([['customers.csv', 'superseded']]);
    await loaded(b);
    const older = fileUnit({ dataset: 'customers', key: 'old/customers.csv', eventTime: '2019-10-01T09:00:00.000Z' });
    expect((await triage(wh, [older])).settled.map((s) => s.status)).toEqual(['superseded']);
    const newer = fileUnit({ dataset: 'customers', key: 'customers.csv', eventTime: '2019-10-02T09:00:00.000Z' });
    expect((await triage(wh, [newer])).toLoad).toEqual([newer]);
  });
});
