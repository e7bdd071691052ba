/**
 * reconcile's classification without services: each scenario states the landing objects and the
 * ledger rows an on-call engineer would find, and the finding they should get.
 */
import type { RoutedObject } from '../../shared/ops/landing';
import { classify, PROBLEMS, type LedgerEntry } from '../../shared/ops/reconcile';

const NOW = new Date('2024-03-01T12:00:00Z');

function object(
  key: string,
  etag: string,
  dataset: string,
  lastModified = '2024-02-01T00:00:00Z',
  versionId?: string,
): RoutedObject {
  return { key, etag, versionId, size: 10, lastModified: new Date(lastModified), dataset };
}

function row(key: string, version: string, status: string, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  const dataset = key.includes('customers')
    ? 'customers'
    : key.includes('products')
      ? 'products'
      : 'transactions';
  return {
    key,
    version,
    // unversioned objects are matched by ETag; these rows' versions stand for both
    etag: version,
    dataset,
    status,
    rows_loaded: 5,
    rows_quarantined: 0,
    first_error: null,
    attempts: 1,
    ...extra,
  };
}

const T1 = 'transactions/d=2024-02-01/t.json';
const T2 = 'transactions/d=2024-02-02/t.json';

const findingOf = (objects: RoutedObject[], ledger: LedgerEntry[], key: string, graceSeconds = 0) =>
  classify(objects, ledger, { now: NOW, graceSeconds }).entries.find((e) => e.key === key)?.finding;

describe('classify', () => {
  it('loaded: the current version is live; quarantined when some of its rows were set aside', () => {
    expect(findingOf([object(T1, 'a', 'transactions')], [row(T1, 'a', 'loaded')], T1)).toBe('loaded');
    expect(
      findingOf([object(T1, 'a', 'transactions')], [row(T1, 'a', 'loaded', { rows_quarantined: 2 })], T1),
    ).toBe('quarantined');
  });

  it('missing: no version of the key was ever loaded (also after the ledger row was deleted)', () => {
    expect(findingOf([object(T1, 'a', 'transactions')], [], T1)).toBe('missing');
    expect(findingOf([object(T1, 'b', 'transactions')], [row(T1, 'a', 'replaced')], T1)).toBe('missing');
  });

  it('changed: another version (ETag or version id) of the key is live', () => {
    const report = classify([object(T1, 'new', 'transactions')], [row(T1, 'old', 'loaded')], { now: NOW });
    expect(report.entries).toEqual([
      expect.objectContaining({ key: T1, finding: 'changed', version: 'new', liveVersion: 'old' }),
    ]);
    // a versioned bucket compares version ids, not ETags (same content uploaded again)
    const versioned = object(T1, 'same', 'transactions', undefined, 'v2');
    expect(findingOf([versioned], [row(T1, 'v1', 'loaded')], T1)).toBe('changed');
    expect(findingOf([versioned], [row(T1, 'v2', 'loaded')], T1)).toBe('loaded');
  });

  it('failed: the ledger recorded a failure of the current version, with its error', () => {
    const report = classify(
      [object(T1, 'a', 'transactions')],
      [row(T1, 'a', 'failed', { first_error: 'not gzip', attempts: 3 })],
      { now: NOW },
    );
    expect(report.entries[0]).toMatchObject({ finding: 'failed', error: 'not gzip', attempts: 3 });
  });

  it('in_flight: not loaded yet but modified within the grace period; missing after it', () => {
    const fresh = object(T1, 'a', 'transactions', '2024-03-01T11:55:00Z'); // 5 minutes before NOW
    expect(findingOf([fresh], [], T1, 15 * 60)).toBe('in_flight');
    expect(findingOf([fresh], [], T1, 60)).toBe('missing');
  });

  it('orphaned: live rows from a key no longer in the bucket', () => {
    expect(findingOf([], [row(T2, 'a', 'loaded')], T2)).toBe('orphaned');
  });

  it('snapshots: only the newest file is expected live; older ones are fine, a newer unloaded one is missing', () => {
    const older = object('starter/customers.csv', 'o', 'customers', '2024-01-01T00:00:00Z');
    const live = object('customers.csv', 'l', 'customers', '2024-02-01T00:00:00Z');
    const newer = object('drop/customers.csv', 'n', 'customers', '2024-02-15T00:00:00Z');
    const ledger = [row('customers.csv', 'l', 'loaded'), row('starter/customers.csv', 'o', 'replaced')];
    const report = classify([older, live, newer], ledger, { now: NOW });
    const by = Object.fromEntries(report.entries.map((e) => [e.key, e.finding]));
    expect(by).toEqual({
      'starter/customers.csv': 'older_snapshot',
      'customers.csv': 'loaded',
      'drop/customers.csv': 'missing',
    });
    // without the newer file: never seen, but older than the live snapshot, so not a problem
    const unseenOlder = object('old/customers.csv', 'x', 'customers', '2023-12-01T00:00:00Z');
    expect(findingOf([unseenOlder, live], [ledger[0]!], 'old/customers.csv')).toBe('older_snapshot');
  });

  it('content uploaded again after another version is changed and replayable (unversioned: a new unit)', () => {
    // a, then b, then a again: the second upload of a never reached the ledger
    const report = classify([object(T1, 'a', 'transactions')], [row(T1, 'a', 'replaced'), row(T1, 'b', 'loaded')], { now: NOW });
    expect(report.entries[0]).toMatchObject({ finding: 'changed', liveVersion: 'b' });
    expect(report.entries[0]!.note).toBeUndefined();
  });

  it('a version id the ledger holds as replaced cannot be fixed by a replay, and says so', () => {
    const report = classify(
      [object(T1, 'same', 'transactions', undefined, 'v1')],
      [row(T1, 'v1', 'replaced'), row(T1, 'v2', 'loaded')],
      { now: NOW },
    );
    expect(report.entries[0]).toMatchObject({ finding: 'changed', liveVersion: 'v2' });
    expect(report.entries[0]!.note).toMatch(/replay will not reload it/);
  });

  it('held: a snapshot the guard holds is a problem, with its reason', () => {
    const report = classify([object('customers.csv', 'c', 'customers')], [row('customers.csv', 'c', 'held', { first_error: 'held: 0 rows would replace 5' })], { now: NOW });
    expect(report.entries[0]).toMatchObject({ finding: 'held', note: 'held: 0 rows would replace 5' });
    expect(report.problems).toBe(1);
  });

  it('counts every finding and the problems that set the exit code', () => {
    const report = classify(
      [
        object(T1, 'a', 'transactions'),
        object(T2, 'b', 'transactions'),
        object('products.csv', 'p', 'products'),
      ],
      [
        row(T1, 'a', 'loaded'),
        row('products.csv', 'p', 'failed'),
        row('transactions/gone.json', 'g', 'loaded'),
      ],
      { now: NOW },
    );
    expect(report.counts).toMatchObject({ loaded: 1, missing: 1, failed: 1, orphaned: 1, changed: 0 });
    expect(report.problems).toBe(2);
    expect([...PROBLEMS].sort()).toEqual(['changed', 'failed', 'held', 'missing']);
    // problems first, then the rest
    expect(report.entries.map((e) => e.finding)).toEqual(['missing', 'failed', 'orphaned', 'loaded']);
  });
});
