/**
 * A rebuild in its own process that stops, forever, at its first step after recording itself as
 * started, and says so to its parent (IPC): the parent kills it with SIGKILL, as a Lambda timeout
 * or an OOM kill would, so nothing in this process gets to clean up.
 */
import { setLogSink } from '../../shared/logger';
import { rebuild } from '../../shared/rebuild';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Warehouse } from '../../shared/warehouse/port';

setLogSink(() => undefined);
const wh = new DuckDbWarehouse(process.env.DUCKDB_PATH as string);
let recorded = false;
const hang = () => new Promise<never>(() => undefined);
const stalling: Warehouse = Object.assign(Object.create(wh) as Warehouse, {
  engine: 'duckdb' as const,
  findTables: wh.findTables.bind(wh),
  describeTable: wh.describeTable.bind(wh),
  transaction: wh.transaction.bind(wh),
  query: (sql: string, params?: never) => (recorded ? hang() : wh.query(sql, params)),
  executeScript: (sql: string) => (recorded ? hang() : wh.executeScript(sql)),
  execute: async (sql: string, params?: never) => {
    if (recorded) return hang();
    const n = await wh.execute(sql, params);
    if (/^\s*insert into analytics\.rebuild_runs/i.test(sql)) {
      recorded = true;
      process.send?.('started');
    }
    return n;
  },
});
void rebuild({ warehouse: stalling, publish: false, runId: process.env.RUN_ID });
