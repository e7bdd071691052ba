/**
 * Landing through the object store (the DuckDB engine, which has no S3 access offline): each object
 * is streamed from S3 (the exact version of the event: its versionId, or If-Match on its ETag), read
 * line by line within the ceilings (./lines.ts) and judged by the rules (../rules/judge.ts) as it is
 * read, on a judge lane (./judge-lanes.ts: worker threads); the judged rows go to each lane's CSV files
 * (./csv-sink.ts) that DuckDB's own reader appends inside the load's transaction. Memory stays bounded
 * by the ceilings, whatever the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mapLimit } from '../../concurrency';
import { config } from '../../config';
import { classifyError, TransientError, UnreadableFileError } from '../../errors';
import type { DatasetDecl } from '../../datasets/types';
import { getObjectStream } from '../../storage/object-store';
import type { Warehouse } from '../../warehouse/port';
import { firstRecordTable } from '../ledger';
import type { SpecColumn } from '../rules/spec';
import { columnsOf } from '../schema';
import { duckdbDialect } from '../../warehouse/dialect';
import { newLoadId, type FlowContext, type Landing } from '../flow';
import type { AppendCounts, FileUnit, LandedFile, LoadOutcome } from '../types';
import { judgeLanes, type Lane, type LaneBatch, type LaneFiles } from './judge-lanes';
import { CsvSink, type SinkColumn, type SinkType } from './csv-sink';

/** Objects read at once per batch: the reads overlap their I/O, the lanes their judging. */
const READ_CONCURRENCY = 4;
/** A missing object is retried this many deliveries (it may not be visible yet) before it is superseded. */
const MISSING_RETRIES = 3;

/**
 * What a CSV row carries after its values: its file's index in the batch (the insert maps it to the
 * load id: a 36-character id repeated on every row was over half of the text written and parsed) and
 * its line. The stored row has `_load_id` and `_line_number` (../schema.ts).
 */
const META: SinkColumn[] = [
  { name: '_file', type: 'INTEGER' },
  { name: '_line_number', type: 'INTEGER' },
];

function sinkType(c: SpecColumn): SinkType {
  switch (c.type) {
    case 'text':
      return 'VARCHAR';
    case 'integer':
      return 'INTEGER';
    case 'decimal':
      // read as the double the rules produced, then cast: the same rounding as Snowflake's FLOAT -> NUMBER
      return 'DOUBLE';
    default:
      return 'TIMESTAMP';
  }
}

interface Batch {
  lanes: Lane[];
  spec: LaneBatch;
  /** Per table: its stored columns (the insert's select list). */
  columns: { name: string; type: string; column: SpecColumn }[][];
  /** Per lane, once closed: the files it wrote. */
  written: LaneFiles[];
  counts: Map<string, AppendCounts>;
  /** Load ids by file index (the `_file` of the CSV rows). */
  files: string[];
  /** Files being judged per lane (a new file goes to the least busy). */
  busy: number[];
}

export class ObjectStoreLanding implements Landing {
  private batch: Batch | undefined;

  constructor(private readonly threads = config().ingest.judgeThreads) {}

  async land(decl: DatasetDecl, units: FileUnit[], ctx: FlowContext): Promise<{ landed: LandedFile[]; decided: LoadOutcome[] }> {
    const landed: LandedFile[] = [];
    const decided: LoadOutcome[] = [];
    if (units.length === 0) return { landed, decided };
    const batch = await this.open(decl, ctx);
    // a file still being read when the invocation has only its reserve left fails alone (its reason in
    // the ledger), so the files beside it load instead of the whole batch timing out
    const readBy = ctx.remainingMs ? Date.now() + ctx.remainingMs() - (ctx.reserveMs ?? 0) : undefined;
    const results = await mapLimit(units, READ_CONCURRENCY, (unit) => this.read(unit, decl, batch, readBy));
    for (const r of results) {
      if ('landed' in r) landed.push(r.landed);
      else decided.push(r.outcome);
    }
    batch.written = await Promise.all(batch.lanes.map((lane) => lane.close(batch.spec.id)));
    return { landed, decided };
  }

  private async open(decl: DatasetDecl, ctx: FlowContext): Promise<Batch> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sp-ingest-${decl.name}-`));
    const columns = decl.tables.map((t) => columnsOf(duckdbDialect, ctx.registry, decl.name, t).filter((c) => c.stored));
    const spec: LaneBatch = {
      id: path.basename(dir),
      dir,
      spec: ctx.registry.spec(decl.name),
      limits: ctx.registry.limits,
      recordTable: decl.tables.findIndex((t) => t.name === firstRecordTable(decl)),
      tables: decl.tables.map((t, i) => {
        const all = columnsOf(duckdbDialect, ctx.registry, decl.name, t);
        // the judge emits every declared column; a record id is not stored (the views compute it)
        const skip = all.some((c) => !c.stored) ? all.map((c) => !c.stored) : null;
        return { name: t.name, skip, columns: [...columns[i]!.map((c) => ({ name: c.name, type: sinkType(c.column) })), ...META] };
      }),
      quarantineColumns: [
        META[0]!,
        { name: 'line_number', type: 'INTEGER' },
        { name: 'raw_text', type: 'VARCHAR' },
        { name: 'reason', type: 'VARCHAR' },
      ],
    };
    const lanes = [...judgeLanes(this.threads)];
    this.batch = { lanes, spec, columns, written: [], counts: new Map(), files: [], busy: lanes.map(() => 0) };
    try {
      await Promise.all(lanes.map((lane) => lane.open(spec)));
    } catch (err) {
      await this.release();
      throw err;
    }
    return this.batch;
  }

  private async read(unit: FileUnit, decl: DatasetDecl, batch: Batch, readBy: number | undefined): Promise<{ landed: LandedFile } | { outcome: LoadOutcome }> {
    const failed = (error: LoadOutcome['error'], note?: string): { outcome: LoadOutcome } => ({
      outcome: { unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error, note },
    });
    const superseded = (note: string): { outcome: LoadOutcome } => ({ outcome: { unit, status: 'superseded', rowsLoaded: 0, rowsQuarantined: 0, note } });
    let object: Awaited<ReturnType<typeof getObjectStream>>;
    try {
      object = await getObjectStream(unit.bucket, unit.key, { versionId: unit.versionId, ifMatch: unit.versionId ? undefined : unit.etag || undefined });
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'PreconditionFailed') return superseded('the object changed after this event: the newer event carries the new content');
      if (name === 'NoSuchKey' || name === 'NoSuchVersion' || name === 'NotFound') {
        return unit.receiveCount < MISSING_RETRIES
          ? failed(new TransientError(`${unit.key}: object not found (yet): retried`))
          : superseded('the object no longer exists');
      }
      return failed(classifyError(err));
    }
    // not every S3 implementation honours If-Match: compare too
    if (!unit.versionId && unit.etag && object.etag && object.etag !== unit.etag) {
      object.body.destroy();
      return superseded('the object changed after this event: the newer event carries the new content');
    }
    const loadId = newLoadId();
    const fileIndex = batch.files.push(loadId) - 1;
    const at = batch.busy.indexOf(Math.min(...batch.busy));
    batch.busy[at]!++;
    let counts: AppendCounts;
    const deadline = new AbortController();
    const started = Date.now();
    const timer = readBy === undefined ? undefined : setTimeout(() => deadline.abort('out of time'), Math.max(0, readBy - started));
    try {
      counts = await batch.lanes[at]!.judge(batch.spec.id, object.body, unit.key, fileIndex, deadline.signal);
    } catch (err) {
      object.body.destroy();
      if (deadline.signal.aborted) {
        const s = Math.round((Date.now() - started) / 1000);
        return failed(
          new UnreadableFileError(
            `${unit.key}: still being read after ${s} s, all the time this invocation had for it (the function's timeout less INGEST_DEADLINE_RESERVE_SECONDS): split the file`,
          ),
        );
      }
      if (err instanceof UnreadableFileError) return failed(err);
      return failed(classifyError(err));
    } finally {
      clearTimeout(timer);
      batch.busy[at]!--;
    }
    batch.counts.set(loadId, counts);
    return { landed: { unit, loadId, lastModified: object.lastModified ?? new Date(unit.eventTime) } };
  }

  async append(tx: Warehouse, decl: DatasetDecl, landed: LandedFile[], loadedAt: string): Promise<Map<string, AppendCounts>> {
    const batch = this.batch;
    if (!batch || landed.length === 0) return new Map();
    const ids = landed.map((f) => f.loadId);
    // only the rows of files that landed whole: a file that failed half-way left rows in the CSV
    const indexes = ids.map((id) => batch.files.indexOf(id));
    const loadIdOf = `case _file ${indexes.map((i) => `when ${i} then ?`).join(' ')} end`;
    const landedOnly = `_file in (${indexes.join(', ')})`;
    const maxLine = batch.spec.limits.maxLineBytes;
    for (const [t, table] of batch.spec.tables.entries()) {
      const files = batch.written.map((w) => w.tables[t]!).filter((f) => f.rows > 0).map((f) => f.file);
      if (files.length === 0) continue;
      const stored = batch.columns[t]!;
      const select = stored.map((c) => (c.column.type === 'decimal' ? `cast(${c.name} as ${c.type}) as ${c.name}` : c.name));
      const cols = [...stored.map((c) => c.name), '_load_id', '_line_number'];
      await tx.execute(
        `insert into raw.${table.name}_appended (${cols.join(', ')})
         select ${[...select, loadIdOf, '_line_number'].join(', ')}
           from ${CsvSink.readCsv(files, table.columns, maxLine)}
          where ${landedOnly}`,
        ids,
      );
    }
    const quarantined = batch.written.map((w) => w.quarantine).filter((f) => f.rows > 0).map((f) => f.file);
    if (quarantined.length > 0) {
      await tx.execute(
        `insert into raw.quarantine_appended (_load_id, dataset, line_number, raw_text, reason, fatal, quarantined_at)
         select ${loadIdOf}, ?, line_number, raw_text, reason, false, cast(? as timestamp)
           from ${CsvSink.readCsv(quarantined, batch.spec.quarantineColumns, maxLine)}
          where ${landedOnly}`,
        [...ids, decl.name, loadedAt],
      );
    }
    return new Map(ids.map((id) => [id, batch.counts.get(id)!]));
  }

  async release(): Promise<void> {
    const batch = this.batch;
    this.batch = undefined;
    if (!batch) return;
    // a lane still open (land() failed half-way) lets go of its files first
    if (batch.written.length === 0) await Promise.all(batch.lanes.map((lane) => lane.close(batch.spec.id).catch(() => undefined)));
    fs.rmSync(batch.spec.dir, { recursive: true, force: true });
  }
}
