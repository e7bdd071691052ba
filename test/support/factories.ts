/** Factories for ingest vocabulary: each call builds a fresh, valid record; override what the test is about. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resetConfig } from '../../shared/config';
import { createWarehouse, setWarehouse } from '../../shared/warehouse';
import type { Warehouse } from '../../shared/warehouse/port';
import type { FileUnit } from '../../shared/ingest/types';

let seq = 0;

export function fileUnit(overrides: Partial<FileUnit> = {}): FileUnit {
  seq++;
  const etag = overrides.etag ?? `etag${seq}`;
  return {
    bucket: 'landing',
    key: `transactions/d=2019-10-${String((seq % 28) + 1).padStart(2, '0')}/transactions.json`,
    versionId: undefined,
    etag,
    version: overrides.versionId ?? etag,
    sequencer: (1000 + seq).toString(16).toUpperCase().padStart(18, '0'),
    eventTime: new Date(Date.UTC(2019, 9, 1) + seq * 1000).toISOString(),
    size: 100,
    dataset: 'transactions',
    receiveCount: 1,
    ...overrides,
  };
}

/** A scratch directory under the OS temp dir, removed by the returned function. */
export function scratchDir(prefix = 'sp-test-'): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A process-wide DuckDB warehouse in a scratch directory (DUCKDB_PATH set, config and warehouse
 * reset); `close()` closes it, removes the directory and restores DUCKDB_PATH.
 */
export function scratchWarehouse(prefix: string): { wh: Warehouse; dir: string; close: () => Promise<void> } {
  const { dir, remove } = scratchDir(prefix);
  const previous = process.env.DUCKDB_PATH;
  process.env.DUCKDB_PATH = path.join(dir, 'w.duckdb');
  resetConfig();
  setWarehouse(undefined);
  const wh = createWarehouse();
  return {
    wh,
    dir,
    close: async () => {
      await wh.close();
      setWarehouse(undefined);
      if (previous === undefined) delete process.env.DUCKDB_PATH;
      else process.env.DUCKDB_PATH = previous;
      resetConfig();
      remove();
    },
  };
}
