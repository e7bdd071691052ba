/**
 * The ingest flow, one for both engines (docs/ARCHITECTURE.md §5). For one dataset's files of a batch:
 *
 *   1. triage against the ledger (./ledger.ts): duplicates and older versions settle at once;
 *   2. land the files' lines (the engine's landing, ./landing/): the DuckDB path streams each object
 *      through the rules as it reads it; the Snowflake path COPYs the files from the stage (or hands
 *      them to Snowpipe);
 *   3. in one transaction: append the judged rows and the quarantine under a fresh load id per file,
 *      decide snapshots (older than the live one: superseded; would remove most of it, or from another
 *      key: held), and append the ledger events. Nothing is updated or deleted: loads never wait on
 *      each other, and the views of ./schema.ts decide what is live.
 *
 * What differs per engine is only the landing surface; the steps, the ledger and the rules are these.
 */
import { randomBytes } from 'node:crypto';
import { classifyError, TransientError, UnreadableFileError } from '../errors';
import type { Logger } from '../logger';
import type { DatasetRegistry } from '../datasets';
import type { DatasetDecl } from '../datasets/types';
import type { Warehouse } from '../warehouse/port';
import { appendEvents, compareSequencers, liveSnapshot, toWarehouseTimestamp, triage, type LedgerEvent } from './ledger';
import type { AppendCounts, FileUnit, LandedFile, LoadOutcome } from './types';

export interface SnapshotGuard {
  /** A snapshot with fewer rows than this share of the live one is held (0: never). */
  minRatio: number;
  /** A snapshot from another key than the live one is held (a stray copy under another prefix). */
  holdNewKey: boolean;
}

export const DEFAULT_GUARD: SnapshotGuard = { minRatio: 0.5, holdNewKey: true };

/** The engine-specific part of ingest: how a file's lines reach the warehouse and become rows. */
export interface Landing {
  /**
   * Bring these units' lines within the warehouse's reach. A unit comes back landed, or with an
   * outcome decided without loading (superseded: the object changed; failed; pending).
   */
  land(decl: DatasetDecl, units: FileUnit[], ctx: FlowContext): Promise<{ landed: LandedFile[]; decided: LoadOutcome[] }>;
  /** Inside the load's transaction: append the judged rows and the quarantine; counts per load id. */
  append(tx: Warehouse, decl: DatasetDecl, landed: LandedFile[], loadedAt: string): Promise<Map<string, AppendCounts>>;
  /** Whatever land() left behind (temporary files), after the transaction. */
  release?(landed: LandedFile[]): Promise<void>;
}

export interface FlowContext {
  registry: DatasetRegistry;
  guard: SnapshotGuard;
  log: Logger;
  /** Milliseconds left before the function must have answered; undefined: no deadline. */
  remainingMs?: () => number;
  /** Milliseconds kept back from remainingMs for the load's transaction (INGEST_DEADLINE_RESERVE_SECONDS). */
  reserveMs?: number;
  now?: () => Date;
}

export function newLoadId(): string {
  return randomBytes(9).toString('base64url');
}

const outcome = (unit: FileUnit, status: LoadOutcome['status'], extra: Partial<LoadOutcome> = {}): LoadOutcome => ({
  unit,
  status,
  rowsLoaded: 0,
  rowsQuarantined: 0,
  ...extra,
});

/** Load one dataset's units of a batch; every unit gets exactly one outcome. */
export async function loadDataset(wh: Warehouse, landing: Landing, decl: DatasetDecl, units: FileUnit[], ctx: FlowContext): Promise<LoadOutcome[]> {
  const replaces = decl.kind === 'snapshot' ? 'dataset' : 'key';
  const { toLoad, settled, events } = await triage(wh, decl, units);
  const outcomes: LoadOutcome[] = [...settled];
  const { landed, decided } = await landing.land(decl, toLoad, ctx);
  try {
    outcomes.push(...decided);
    // what did not load still leaves its trace (superseded, unreadable, pending); transient failures
    // do not: the retry decides
    for (const o of decided) {
      if (o.status === 'superseded' || o.status === 'pending' || (o.status === 'failed' && o.error && !o.error.retryable)) {
        const status = o.status === 'superseded' || o.status === 'pending' ? o.status : 'failed';
        events.push({ unit: o.unit, status, replaces, firstError: o.note ?? o.error?.message });
      }
    }
    if (landed.length === 0) {
      if (events.length > 0) await recordQuietly(wh, events, ctx);
    } else if (ctx.remainingMs && ctx.remainingMs() < (ctx.reserveMs ?? 0) / 2) {
      // Landing took the time (a slow COPY): the write transaction is not started with less than half
      // the reserve left, so it never outlives the invocation. The files go back to SQS; the next
      // delivery finds their lines landed (COPY skips a file it loaded, the lines stay) and writes them.
      ctx.log.warn('out of time after landing: files handed back to SQS', { dataset: decl.name, files: landed.length, remainingMs: ctx.remainingMs() });
      outcomes.push(...outOfTime(landed.map((f) => f.unit)));
      if (events.length > 0) await recordQuietly(wh, events, ctx);
    } else {
      outcomes.push(...(await write(wh, landing, decl, landed, events, ctx)));
    }
  } finally {
    await landing.release?.(landed);
  }
  return outcomes;
}

/** Step 3: one transaction appends the rows, the quarantine and the ledger events of the landed files. */
async function write(wh: Warehouse, landing: Landing, decl: DatasetDecl, landed: LandedFile[], events: LedgerEvent[], ctx: FlowContext): Promise<LoadOutcome[]> {
  const replaces = decl.kind === 'snapshot' ? 'dataset' : 'key';
  try {
    return await wh.transaction(async (tx) => {
      const loadedAt = toWarehouseTimestamp((ctx.now ?? (() => new Date()))());
      const counts = await landing.append(tx, decl, landed, loadedAt);
      const live = decl.kind === 'snapshot' ? await liveSnapshot(tx, decl) : undefined;
      const results: LoadOutcome[] = [];
      for (const file of landed) {
        const c = counts.get(file.loadId) ?? { rows: 0, quarantined: 0, firstReason: undefined, fatal: undefined };
        if (c.fatal) {
          const error = new UnreadableFileError(`${file.unit.key}: ${c.fatal}`);
          results.push(outcome(file.unit, 'failed', { error }));
          events.push({ unit: file.unit, status: 'failed', replaces, lastModified: file.lastModified, firstError: error.message });
          continue;
        }
        const verdict = decl.kind === 'snapshot' ? judgeSnapshot(file, c, live, ctx.guard) : undefined;
        const status = verdict?.status ?? 'loaded';
        results.push(outcome(file.unit, status, { rowsLoaded: c.rows, rowsQuarantined: c.quarantined, note: verdict?.note }));
        events.push({
          unit: file.unit,
          status,
          replaces,
          loadId: status === 'superseded' ? undefined : file.loadId,
          lastModified: file.lastModified,
          rowsLoaded: c.rows,
          rowsQuarantined: c.quarantined,
          firstError: verdict?.note ?? c.firstReason,
        });
      }
      await appendEvents(tx, events);
      return results;
    });
  } catch (err) {
    const error = classifyError(err);
    ctx.log.warn('load transaction failed', { dataset: decl.name, files: landed.length, error: error.message, retryable: error.retryable });
    return landed.map((f) => outcome(f.unit, 'failed', { error }));
  }
}

/** Ledger notes outside a load (superseded, unreadable): for diagnosis, never the reason a record fails. */
async function recordQuietly(wh: Warehouse, events: LedgerEvent[], ctx: FlowContext): Promise<void> {
  try {
    await wh.transaction((tx) => appendEvents(tx, events));
  } catch (err) {
    ctx.log.warn('ledger note not written', { events: events.length, error: classifyError(err).message });
  }
}

/** Milliseconds of a warehouse timestamp ('YYYY-MM-DD HH:MM:SS[.fff]', naive UTC, as the port returns them). */
function warehouseMs(t: string): number {
  return Date.parse(t.includes('T') ? t : t.replace(' ', 'T') + 'Z');
}

/** Whether `file` orders after the live snapshot, as raw.live_loads orders them. */
function newerThanLive(file: LandedFile, live: { key: string; sequencer: string; lastModified: string }): boolean {
  const mine = file.lastModified.getTime();
  const theirs = warehouseMs(live.lastModified);
  if (mine !== theirs) return mine > theirs;
  if (file.unit.key !== live.key) return file.unit.key > live.key;
  return compareSequencers(file.unit.sequencer, live.sequencer) > 0;
}

/**
 * A snapshot older than the live one never becomes live (superseded). One that would replace it but
 * removes most of its rows, or comes from another key, is held until an operator confirms it.
 */
function judgeSnapshot(
  file: LandedFile,
  c: AppendCounts,
  live: Awaited<ReturnType<typeof liveSnapshot>>,
  guard: SnapshotGuard,
): { status: 'loaded' | 'held' | 'superseded'; note?: string } {
  if (!live) return { status: 'loaded' };
  if (!newerThanLive(file, live)) {
    return { status: 'superseded', note: `older than the live snapshot ${live.key} (last modified ${live.lastModified})` };
  }
  const confirm = `confirm with: npm run confirm -- ${file.unit.key}`;
  if (guard.minRatio > 0 && live.rows > 0 && c.rows < guard.minRatio * live.rows) {
    return {
      status: 'held',
      note: `held: ${c.rows} rows would replace the ${live.rows} live rows (fewer than ${guard.minRatio * 100}%, INGEST_SNAPSHOT_MIN_RATIO); ${confirm}`,
    };
  }
  if (guard.holdNewKey && live.key !== file.unit.key) {
    return { status: 'held', note: `held: a snapshot from ${file.unit.key}, not the live one's key ${live.key} (INGEST_SNAPSHOT_HOLD_NEW_KEY); ${confirm}` };
  }
  return { status: 'loaded' };
}

/** Fail what is left when the function's time runs out (SQS delivers it again). */
export function outOfTime(units: FileUnit[]): LoadOutcome[] {
  const error = new TransientError('the function ran out of time before this file: handed back to SQS');
  return units.map((u) => outcome(u, 'failed', { error }));
}

