/**
 * Queuing runs (POST /transfers and the dispatcher share it), against a scratch DuckDB warehouse and
 * a stand-in transfer function that only records what it is asked to start: one record per run id,
 * a start only when the run is new, failed and asked again, or lost; the dispatcher's slots.
 */
import path from 'node:path';
import { loadConfig, type Config } from '../../shared/config';
import { dispatchSchedules } from '../../shared/delivery/dispatch';
import type { TransferFunction } from '../../shared/delivery/invoke';
import { readRun, recordRunError } from '../../shared/delivery/runs';
import { FileDestinationStore } from '../../shared/delivery/store';
import { LOST_START_MS, submitTransfer, type SubmitOptions } from '../../shared/delivery/submit';
import { InvalidInputError, TransientError } from '../../shared/errors';
import { setLogSink } from '../../shared/logger';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { acme } from '../support/destinations';
import { scratchDir } from '../support/factories';

let scratch: { dir: string; remove: () => void };
let wh: DuckDbWarehouse;
let cfg: Config;
let store: FileDestinationStore;
let started: Array<Record<string, unknown>>;
let refuse: boolean;
let clock: Date;
const transfer: TransferFunction = {
  call: async () => undefined,
  start: async (event) => {
    if (refuse) throw new Error('Lambda throttled the invocation');
    started.push(event);
  },
};

beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink((line) => process.stderr.write(line + '\n')));
beforeEach(async () => {
  scratch = scratchDir('sp-submit-');
  cfg = loadConfig({ STAGE: 'local', LOCAL_DIR: scratch.dir });
  wh = new DuckDbWarehouse(path.join(scratch.dir, 'w.duckdb'));
  store = new FileDestinationStore(path.join(scratch.dir, 'destinations.json'), cfg.delivery.rolePrefix);
  await store.put(acme({ schedule: { cron: 'cron(0 6 ? * MON *)', source_table: 'ORDERS' } }));
  await store.put(acme({ name: 'plain', bucket: 'plain-drop' }));
  started = [];
  refuse = false;
  clock = new Date('2024-06-03T06:10:00Z');
});
afterEach(async () => {
  await wh.close();
  scratch.remove();
});

const opts = (over: Partial<SubmitOptions> = {}): SubmitOptions => ({
  origin: 'api',
  requestedBy: 'arn:aws:iam::1:role/caller',
  retryFailed: true,
  config: cfg,
  warehouse: wh,
  store,
  transfer,
  now: () => clock,
  ...over,
});

describe('submitTransfer', () => {
  it('records a new run and starts it once with the request as asked and its run id', async () => {
    const first = await submitTransfer({ source_table: 'ORDERS', destination: 'acme' }, opts({ idempotencyKey: 'k1' }));
    expect(first.kind).toBe('accepted');
    if (first.kind === 'conflict') throw new Error('unexpected');
    expect(first.status).toMatchObject({ status: 'queued', destination: 'acme', origin: 'api', requested_by: 'arn:aws:iam::1:role/caller' });
    expect(started).toEqual([{ source_table: 'ORDERS', destination: 'acme', run_id: first.status.run_id }]);

    // the same key again, a moment later: the same run, not started again
    const again = await submitTransfer({ source_table: 'ORDERS', destination: 'acme' }, opts({ idempotencyKey: 'k1' }));
    expect(again).toMatchObject({ kind: 'repeated', restarted: false, status: { run_id: first.status.run_id } });
    expect(started).toHaveLength(1);
  });

  it('starts again a run never claimed after the maximum age of its event (a lost event), and a failed one when asked again, not for a schedule', async () => {
    const first = await submitTransfer({ source_table: 'ORDERS', destination: 'acme', run_id: 'r-lost' }, opts());
    clock = new Date(clock.getTime() + LOST_START_MS + 1000);
    expect(await submitTransfer({ source_table: 'ORDERS', destination: 'acme', run_id: 'r-lost' }, opts())).toMatchObject({ kind: 'repeated', restarted: true });
    expect(started.map((e) => e.run_id)).toEqual(['r-lost', 'r-lost']);
    expect(first.kind).toBe('accepted');

    await recordRunError(wh, 'r-lost', 'S3 refused acme-drop (403)', new Date(clock.getTime() + 1000));
    clock = new Date(clock.getTime() + 2000);
    const failed = await submitTransfer({ source_table: 'ORDERS', destination: 'acme', run_id: 'r-lost' }, opts({ retryFailed: false }));
    expect(failed).toMatchObject({ kind: 'repeated', restarted: false, status: { status: 'failed', error: 'S3 refused acme-drop (403)' } });
    expect(started).toHaveLength(2);
    const retried = await submitTransfer({ source_table: 'ORDERS', destination: 'acme', run_id: 'r-lost' }, opts());
    expect(retried).toMatchObject({ kind: 'repeated', restarted: true, status: { status: 'queued' } });
    expect(started).toHaveLength(3);
  });

  it('refuses a run id used for another request, and a key that contradicts the run id', async () => {
    await submitTransfer({ source_table: 'ORDERS', destination: 'acme', run_id: 'r-taken' }, opts());
    expect(await submitTransfer({ source_table: 'OTHER', destination: 'acme', run_id: 'r-taken' }, opts())).toMatchObject({ kind: 'conflict', runId: 'r-taken' });
    await expect(submitTransfer({ source_table: 'ORDERS', destination: 'acme', run_id: 'a' }, opts({ idempotencyKey: 'b' }))).rejects.toThrow(
      /Idempotency-Key and the request's run_id differ/,
    );
    await expect(submitTransfer({ source_table: 'ORDERS', destination: 'acme' }, opts({ idempotencyKey: 'bad key\n' }))).rejects.toBeInstanceOf(InvalidInputError);
    expect(started).toHaveLength(1);
  });

  it('refuses a bad request before recording anything', async () => {
    await expect(submitTransfer({ source_table: 'ORDERS', destination: 'nobody' }, opts())).rejects.toThrow(/no destination named nobody/);
    await expect(submitTransfer({ source_table: 'a;b', destination: 'acme', run_id: 'r-bad' }, opts())).rejects.toBeInstanceOf(InvalidInputError);
    expect(await readRun(wh, 'r-bad')).toBeUndefined();
    expect(started).toEqual([]);
  });

  it('a start Lambda refuses is a transient error, and the run says why', async () => {
    refuse = true;
    await expect(submitTransfer({ source_table: 'ORDERS', destination: 'acme', run_id: 'r-throttled' }, opts())).rejects.toBeInstanceOf(TransientError);
    const found = await readRun(wh, 'r-throttled');
    expect(found?.run.error).toMatch(/could not start: Lambda throttled the invocation/);
    // asking again starts it
    refuse = false;
    clock = new Date(clock.getTime() + 1000);
    expect(await submitTransfer({ source_table: 'ORDERS', destination: 'acme', run_id: 'r-throttled' }, opts())).toMatchObject({ restarted: true });
  });
});

describe('dispatchSchedules', () => {
  it("starts each scheduled destination's latest slot once, and nothing for a destination without a schedule", async () => {
    const first = await dispatchSchedules({ now: clock, config: cfg, store, warehouse: wh, transfer });
    const second = await dispatchSchedules({ now: new Date(clock.getTime() + 15 * 60_000), config: cfg, store, warehouse: wh, transfer });
    expect(first).toEqual({ started: ['sched-acme-20240603T0600Z'], existing: [], errors: [] });
    expect(second).toEqual({ started: [], existing: ['sched-acme-20240603T0600Z'], errors: [] });
    expect(started).toEqual([{ source_table: 'ORDERS', destination: 'acme', run_id: 'sched-acme-20240603T0600Z' }]);
    expect((await readRun(wh, 'sched-acme-20240603T0600Z'))?.run).toMatchObject({ origin: 'schedule', requestedBy: expect.stringMatching(/^schedule cron\(0 6 \? \* MON \*\)/) });
  });

  it('does not catch up a slot older than an hour, and names an invalid destination without stopping the others', async () => {
    const late = await dispatchSchedules({ now: new Date('2024-06-03T07:30:00Z'), config: cfg, store, warehouse: wh, transfer });
    expect(late.started).toEqual([]);
    const file = path.join(scratch.dir, 'destinations.json');
    const fs = await import('node:fs');
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { destinations: unknown[] };
    fs.writeFileSync(file, JSON.stringify({ destinations: [...doc.destinations, { name: 'broken' }] }));
    const withBroken = await dispatchSchedules({ now: clock, config: cfg, store, warehouse: wh, transfer });
    expect(withBroken.started).toEqual(['sched-acme-20240603T0600Z']);
    expect(withBroken.errors).toEqual([{ destination: 'broken', error: expect.stringMatching(/^invalid: /) }]);
  });
});
