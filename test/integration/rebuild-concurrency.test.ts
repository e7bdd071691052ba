/**
 * Rebuilds that overlap (a retried invoke, a manual run during the weekly one) and a rebuild that
 * dies, on DuckDB: one rebuild at a time, a repeat of the same request gets the first result, and a
 * killed rebuild leaves a `running` row that the next rebuild marks `abandoned`.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resetConfig } from '../../shared/config';
import { setLogSink } from '../../shared/logger';
import { CLAIMS_TABLE } from '../../shared/publish/claims';
import { rebuild, RUNS_TABLE } from '../../shared/rebuild';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Warehouse } from '../../shared/warehouse/port';
import { ORIGINAL_FIXTURE } from '../support/fixtures';
import { clearRaw, insertRaw, readInputFolder } from '../support/raw-fixtures';

jest.setTimeout(120_000);

let dir: string;
const savedEnv = { ...process.env };

beforeAll(() => {
  setLogSink(() => undefined);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rebuild-concurrency-'));
  process.env.STAGE = 'local';
  resetConfig();
});

afterAll(() => {
  setLogSink((line) => process.stderr.write(line + '\n'));
  process.env = savedEnv;
  resetConfig();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The warehouse, every statement slowed down, so a run lasts long enough to be overlapped. */
function slow(wh: Warehouse, ms: number): Warehouse {
  const wait = () => new Promise((r) => setTimeout(r, ms));
  return Object.assign(Object.create(wh) as Warehouse, {
    engine: wh.engine,
    findTables: wh.findTables.bind(wh),
    describeTable: wh.describeTable.bind(wh),
    transaction: wh.transaction.bind(wh),
    stream: wh.stream.bind(wh),
    query: async (sql: string, params?: never) => (await wait(), wh.query(sql, params)),
    execute: async (sql: string, params?: never) => (await wait(), wh.execute(sql, params)),
    executeScript: async (sql: string) => (await wait(), wh.executeScript(sql)),
  });
}

describe('overlapping rebuilds', () => {
  let wh: DuckDbWarehouse;
  beforeAll(async () => {
    wh = new DuckDbWarehouse(path.join(dir, 'overlap.duckdb'));
    await clearRaw(wh);
    await insertRaw(wh, readInputFolder(ORIGINAL_FIXTURE));
  });
  afterAll(() => wh.close());

  it('a second rebuild while one runs is refused with a clear message, before any work', async () => {
    // Prepare: the first is slow; the second starts once the first holds the claim
    const first = rebuild({ warehouse: slow(wh, 15), publish: false, runId: 'rb-first', snapshotDate: '2020-01-06' });
    for (let i = 0; i < 200; i++) {
      const [held] = await wh.query(`select count(*) as n from ${CLAIMS_TABLE} where run_id = 'rb-first' and status = 'running'`).catch(() => [{ n: 0 }]);
      if (Number(held?.n) > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }

    // Act
    const second = rebuild({ warehouse: wh, publish: false, runId: 'rb-second', snapshotDate: '2020-01-06' });

    // Assess
    await expect(second).rejects.toThrow(/another rebuild \(run rb-first, started .*\) is still running; this one was not started/);
    const done = await first;
    expect(done.run_id).toBe('rb-first');
    const runs = await wh.query(`select run_id, status from ${RUNS_TABLE} where run_id in ('rb-first', 'rb-second')`);
    expect(runs).toEqual([{ run_id: 'rb-first', status: done.status }]);
  });

  it('the same rebuild requested twice at once runs once; both get its result', async () => {
    // Act
    const [a, b] = await Promise.all([
      rebuild({ warehouse: slow(wh, 5), publish: false, runId: 'rb-twice', snapshotDate: '2020-01-06', pollMs: 50 }),
      rebuild({ warehouse: slow(wh, 5), publish: false, runId: 'rb-twice', snapshotDate: '2020-01-06', pollMs: 50 }),
    ]);

    // Assess
    expect(b).toEqual(a);
    const runs = await wh.query(`select count(*) as n from ${RUNS_TABLE} where run_id = 'rb-twice'`);
    expect(runs).toEqual([{ n: 1 }]);
  });
});

describe('a killed rebuild', () => {
  it('leaves a running row, which the next rebuild marks abandoned before it runs', async () => {
    // Prepare: a rebuild in a child process, killed with SIGKILL once it has started
    const file = path.join(dir, 'killed.duckdb');
    const child = fork(path.join(__dirname, '../support/rebuild-child.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, DUCKDB_PATH: file, RUN_ID: 'rb-killed' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the child rebuild exited (${code}) before starting`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    // Assess: the killed run left its row
    const wh = new DuckDbWarehouse(file);
    try {
      expect(await wh.query(`select run_id, status, finished_at from ${RUNS_TABLE}`)).toEqual([
        { run_id: 'rb-killed', status: 'running', finished_at: null },
      ]);

      // Act: the next rebuild, after the dead run's lease has run out
      const later = new Date(Date.now() + 60 * 60_000);
      const next = await rebuild({ warehouse: wh, publish: false, runId: 'rb-next', clock: () => later });

      // Assess
      const runs = await wh.query(`select run_id, status, error from ${RUNS_TABLE} order by started_at`);
      expect(runs.map((r) => [r.run_id, r.status])).toEqual([
        ['rb-killed', 'abandoned'],
        ['rb-next', next.status],
      ]);
      expect(String(runs[0]!.error)).toMatch(/stopped without finishing/);
    } finally {
      await wh.close();
    }
  });
});
