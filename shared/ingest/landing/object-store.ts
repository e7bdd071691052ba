/**
 * Landing through the object store (the DuckDB engine, which has no S3 access offline): each object
 * is streamed from S3 (the exact version of the event: its versionId, or If-Match on its ETag), read
 * line by line within the ceilings (./lines.ts) and judged by the rules (../rules/judge.ts) as it is
 * read; the judged rows go to CSV files (./csv-sink.ts) that DuckDB's own reader appends inside the
 * load's transaction. Memory stays bounded by the ceilings, whatever the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mapLimit } from '../../concurrency';
import { classifyError, TransientError, UnreadableFileError } from '../../errors';
import type { DatasetDecl } from '../../datasets/types';
import { getObjectStream } from '../../storage/object-store';
import type { Warehouse } from '../../warehouse/port';
import { firstRecordTable } from '../ledger';
import { createJudge, OUT_FATAL, OUT_QUARANTINE, OUT_ROW } from '../rules/judge';
import type { JudgeSpec, SpecColumn } from '../rules/spec';
import { columnsOf } from '../schema';
import { duckdbDialect } from '../../warehouse/dialect';
import { newLoadId, type FlowContext, type Landing } from '../flow';
import type { AppendCounts, FileUnit, LandedFile, LoadOutcome } from '../types';
import { readLines } from './lines';
import { CsvSink, type SinkColumn, type SinkType } from './csv-sink';

/** Objects read at once per batch: the reads overlap their I/O; judging is one thread anyway. */
const READ_CONCURRENCY = 4;
/** A missing object is retried this many deliveries (it may not be visible yet) before it is superseded. */
const MISSING_RETRIES = 3;

/** What a row stores after its values (./../schema.ts): its load and line. */
const META: SinkColumn[] = [
  { name: '_load_id', type: 'VARCHAR' },
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
  dir: string;
  maxLineBytes: number;
  tables: { name: string; sink: CsvSink; columns: { name: string; type: string; column: SpecColumn }[]; skip: boolean[] | null }[];
  quarantine: CsvSink;
  counts: Map<string, AppendCounts>;
}

export class ObjectStoreLanding implements Landing {
  private batch: Batch | undefined;

  async land(decl: DatasetDecl, units: FileUnit[], ctx: FlowContext): Promise<{ landed: LandedFile[]; decided: LoadOutcome[] }> {
    const landed: LandedFile[] = [];
    const decided: LoadOutcome[] = [];
    if (units.length === 0) return { landed, decided };
    const spec = ctx.registry.spec(decl.name);
    const batch = this.open(decl, ctx);
    const results = await mapLimit(units, READ_CONCURRENCY, (unit) => this.read(unit, decl, spec, batch));
    for (const r of results) {
      if ('landed' in r) landed.push(r.landed);
      else decided.push(r.outcome);
    }
    for (const t of batch.tables) await t.sink.close();
    await batch.quarantine.close();
    return { landed, decided };
  }

  private open(decl: DatasetDecl, ctx: FlowContext): Batch {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sp-ingest-${decl.name}-`));
    const tables = decl.tables.map((t) => {
      const all = columnsOf(duckdbDialect, ctx.registry, decl.name, t);
      const columns = all.filter((c) => c.stored);
      const sinkColumns: SinkColumn[] = [...columns.map((c) => ({ name: c.name, type: sinkType(c.column) })), ...META];
      // the judge emits every declared column; a record id is not stored (the views compute it)
      const skip = all.some((c) => !c.stored) ? all.map((c) => !c.stored) : null;
      return { name: t.name, columns, skip, sink: new CsvSink(path.join(dir, `${t.name}.csv`), sinkColumns) };
    });
    const quarantine = new CsvSink(path.join(dir, 'quarantine.csv'), [
      META[0]!,
      { name: 'line_number', type: 'INTEGER' },
      { name: 'raw_text', type: 'VARCHAR' },
      { name: 'reason', type: 'VARCHAR' },
    ]);
    this.batch = { dir, maxLineBytes: ctx.registry.limits.maxLineBytes, tables, quarantine, counts: new Map() };
    return this.batch;
  }

  private async read(unit: FileUnit, decl: DatasetDecl, spec: JudgeSpec, batch: Batch): Promise<{ landed: LandedFile } | { outcome: LoadOutcome }> {
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
    const counts: AppendCounts = { rows: 0, quarantined: 0, firstReason: undefined, fatal: undefined };
    const recordTable = decl.tables.findIndex((t) => t.name === firstRecordTable(decl));
    const tail = `,${CsvSink.text(loadId)},`;
    const judge = createJudge(spec, (kind, t, line, values) => {
      if (kind === OUT_ROW) {
        const table = batch.tables[t]!;
        table.sink.push(values, table.skip, tail + line);
        if (t === recordTable) counts.rows++;
      } else if (kind === OUT_QUARANTINE) {
        counts.quarantined++;
        counts.firstReason ??= values[1] as string;
        batch.quarantine.push([loadId, line, values[0], values[1]]);
      } else if (kind === OUT_FATAL) {
        counts.fatal = values[0] as string;
      }
    });
    const drain = async () => {
      for (const t of batch.tables) await t.sink.drain();
      await batch.quarantine.drain();
    };
    try {
      await readLines(object.body, unit.key, spec, (text, n) => judge.line(text, n), async () => {
        if (judge.failed) throw new UnreadableFileError(`${unit.key}: ${counts.fatal}`);
        await drain();
      });
      judge.end();
    } catch (err) {
      object.body.destroy();
      if (err instanceof UnreadableFileError) return failed(err);
      return failed(classifyError(err));
    }
    if (counts.fatal) return failed(new UnreadableFileError(`${unit.key}: ${counts.fatal}`));
    batch.counts.set(loadId, counts);
    return { landed: { unit, loadId, lastModified: object.lastModified ?? new Date(unit.eventTime) } };
  }

  async append(tx: Warehouse, decl: DatasetDecl, landed: LandedFile[], loadedAt: string): Promise<Map<string, AppendCounts>> {
    const batch = this.batch;
    if (!batch || landed.length === 0) return new Map();
    const ids = landed.map((f) => f.loadId);
    const inIds = `_load_id in (${ids.map(() => '?').join(', ')})`;
    const maxLine = batch.maxLineBytes;
    for (const t of batch.tables) {
      if (t.sink.rows === 0) continue;
      const select = t.columns.map((c) => (c.column.type === 'decimal' ? `cast(${c.name} as ${c.type}) as ${c.name}` : c.name));
      const cols = [...t.columns.map((c) => c.name), ...META.map((m) => m.name)];
      await tx.execute(
        `insert into raw.${t.name}_appended (${cols.join(', ')})
         select ${[...select, ...META.map((m) => m.name)].join(', ')}
           from ${t.sink.readCsv(maxLine)}
          where ${inIds}`,
        ids,
      );
    }
    if (batch.quarantine.rows > 0) {
      await tx.execute(
        `insert into raw.quarantine_appended (_load_id, dataset, line_number, raw_text, reason, fatal, quarantined_at)
         select _load_id, ?, line_number, raw_text, reason, false, cast(? as timestamp)
           from ${batch.quarantine.readCsv(maxLine)}
          where ${inIds}`,
        [decl.name, loadedAt, ...ids],
      );
    }
    return new Map(ids.map((id) => [id, batch.counts.get(id)!]));
  }

  async release(): Promise<void> {
    if (this.batch) fs.rmSync(this.batch.dir, { recursive: true, force: true });
    this.batch = undefined;
  }
}
