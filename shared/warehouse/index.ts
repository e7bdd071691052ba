/**
 * The one place that decides which engine runs: DuckDB on the local stage, Snowflake in AWS
 * (or whatever WAREHOUSE_ENGINE says). The adapter is created once per process and reused across
 * warm Lambda invocations.
 */
import { config, type Config } from '../config';
import type { Warehouse } from './port';
import { RemoteWarehouse, runningStack } from './remote';

export type { Warehouse, Row, Param, ColumnInfo, TableRef, Engine, Scalar } from './port';

let current: Warehouse | undefined;

export function createWarehouse(cfg: Config = config()): Warehouse {
  if (cfg.warehouse.engine === 'duckdb') {
    // while `npm start` owns the DuckDB file, other local processes go through its loopback endpoint
    const stack = runningStack(cfg.localDir);
    if (stack && stack.duckdbPath === cfg.warehouse.path) return new RemoteWarehouse(stack.warehouseUrl, stack.warehouseToken);
    // loaded lazily: the Lambda bundle leaves the DuckDB native module out
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DuckDbWarehouse } = require('./duckdb') as typeof import('./duckdb');
    return new DuckDbWarehouse(cfg.warehouse.path);
  }
  // loaded lazily: snowflake-sdk does network probing and heavy setup at import time
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SnowflakeWarehouse } = require('./snowflake') as typeof import('./snowflake');
  return new SnowflakeWarehouse(cfg.warehouse);
}

/** The process-wide warehouse (module-level, reused across warm invocations). */
export function warehouse(): Warehouse {
  current ??= createWarehouse();
  return current;
}

/** Replace the process-wide warehouse (tests, the local stack). */
export function setWarehouse(next: Warehouse | undefined): void {
  current = next;
}
