/**
 * Which loader runs is decided by the warehouse engine, here and nowhere else. Both are loaded
 * lazily: the Lambda bundle carries no DuckDB native module, and the local stack loads no
 * snowflake-sdk.
 */
import { TerminalError } from '../errors';
import type { Warehouse } from '../warehouse/port';
import type { DatasetLoader } from './types';

export function loaderFor(wh: Warehouse): DatasetLoader {
  if (wh.engine === 'snowflake') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SnowflakeLoader } = require('./snowflake-loader') as typeof import('./snowflake-loader');
    return new SnowflakeLoader(wh);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DuckDbWarehouse } = require('../warehouse/duckdb') as typeof import('../warehouse/duckdb');
  if (wh instanceof DuckDbWarehouse) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DuckDbLoader } = require('./duckdb-loader') as typeof import('./duckdb-loader');
    return new DuckDbLoader(wh);
  }
  throw new TerminalError(
    'ingest needs direct access to the warehouse: run it inside the local stack (npm start), which owns the DuckDB file',
  );
}
