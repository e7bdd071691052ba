/** Factories for ingest vocabulary: each call builds a fresh, valid record; override what the test is about. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Dataset } from '../../shared/config';
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
    dataset: 'transactions' as Dataset,
    ...overrides,
  };
}

/** A scratch directory under the OS temp dir, removed by the returned function. */
export function scratchDir(prefix = 'sp-test-'): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
