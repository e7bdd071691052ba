/** Which loader runs is decided by the warehouse engine, here and nowhere else. */
import { TerminalError } from '../errors';
import { DuckDbWarehouse } from '../warehouse/duckdb';
import type { Warehouse } from '../warehouse/port';
import { DuckDbLoader } from './duckdb-loader';
import type { DatasetLoader } from './types';

export function loaderFor(wh: Warehouse): DatasetLoader {
  if (wh instanceof DuckDbWarehouse) return new DuckDbLoader(wh);
  if (wh.engine === 'snowflake') {
    // loaded lazily, like the Snowflake adapter it drives
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SnowflakeLoader } = require('./snowflake-loader') as {
      SnowflakeLoader: new (w: Warehouse) => DatasetLoader;
    };
    return new SnowflakeLoader(wh);
  }
  throw new TerminalError(`no ingest loader for engine ${wh.engine}`);
}
