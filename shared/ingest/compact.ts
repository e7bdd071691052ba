/**
 * Work on the ingest layer that stays off the hot path (docs/ARCHITECTURE.md §5):
 *
 * - `fixCut`: the rebuild reads one consistent cut of the raw data. It fixes the set of live loads in
 *   raw.cut_loads when it starts; the models read raw.<table>__cut, so files arriving during the
 *   rebuild wait for the next one instead of appearing in some models and not in others.
 * - `compact`: deletes the rows no view can show any more (loads that were replaced, superseded or
 *   lost a race for the same version), keeping what is live, held or in the current cut. On
 *   Snowflake also the landed lines older than COPY's 64-day load metadata window (plus a day).
 *   Loads that commit while it runs are not touched: their rows are not visible to its DELETEs.
 */
import type { DatasetRegistry } from '../datasets';
import type { Warehouse } from '../warehouse/port';
import { toWarehouseTimestamp } from './ledger';

/** Landed lines are kept one day longer than Snowflake's COPY load metadata (64 days). */
export const LANDING_RETENTION_DAYS = 65;

const KEEP = `select load_id from raw.live_loads
   union select load_id from raw.cut_loads
   union select load_id from raw.unit_loads where status = 'held'`;

export async function fixCut(wh: Warehouse, now: Date = new Date()): Promise<{ loads: number }> {
  return wh.transaction(async (tx) => {
    await tx.execute('delete from raw.cut_loads');
    const loads = await tx.execute(
      `insert into raw.cut_loads (load_id, dataset, bucket, key, version, recorded_at, cut_at)
       select load_id, dataset, bucket, key, version, recorded_at, ? from raw.live_loads`,
      [
        toWarehouseTimestamp(now),
      ],
    );
    return { loads };
  });
}

export interface CompactReport {
  /** Rows deleted per appended table (and `quarantine`, `landing_lines`). */
  deleted: Record<string, number>;
}

export async function compact(wh: Warehouse, registry: DatasetRegistry, now: Date = new Date()): Promise<CompactReport> {
  const deleted: Record<string, number> = {};
  const tables = registry.datasets.flatMap((d) => d.tables.map((t) => t.name));
  for (const table of tables) {
    deleted[table] = await wh.execute(`delete from raw.${table}_appended where _load_id not in (${KEEP})`);
  }
  deleted.quarantine = await wh.execute(`delete from raw.quarantine_appended where _load_id not in (${KEEP})`);
  if (wh.dialect.landing === 'stage') {
    const cutoff = new Date(now.getTime() - LANDING_RETENTION_DAYS * 86_400_000);
    deleted.landing_lines = await wh.execute('delete from raw.landing_lines where copied_at < ?', [toWarehouseTimestamp(cutoff)]);
  }
  return { deleted };
}
