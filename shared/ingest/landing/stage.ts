/**
 * Landing through the Snowflake stage: the warehouse reads the files itself (COPY INTO from the
 * external stage on the landing bucket, or Snowpipe), and the rules run in SQL, in the dataset's table
 * function, inside the load's transaction (./stage-sql.ts has the SQL and the reasons for its shape).
 *
 * land(), per batch:
 *   1. HEAD each object: an ETag other than the event's means the key was overwritten after the event
 *      (superseded: the newer event brings the newer content); the Last-Modified second identifies this
 *      version's lines in the landing table;
 *   2. COPY the batch's files (INGEST_MODE=copy, and in pipe mode for files staged more than 7 days
 *      ago), or hand each file to its pipe (ALTER PIPE ... REFRESH) and finish it on a later delivery;
 *   3. find each version's lines: the ones COPY just landed, or, for a file COPY skipped because its
 *      content was loaded before (load metadata, 64 days), the lines of the earlier version with the
 *      same ETag; only when those are gone too is the file copied again with FORCE.
 * append(): one multi-table INSERT (rules + rows + quarantine) and one count query.
 */
import { mapLimit } from '../../concurrency';
import { config } from '../../config';
import type { DatasetDecl } from '../../datasets/types';
import { classifyError, ConfigError, TerminalError, TransientError, UnreadableFileError, type PipelineError } from '../../errors';
import { headObject } from '../../storage/object-store';
import type { Warehouse } from '../../warehouse/port';
import { newLoadId, type FlowContext, type Landing } from '../flow';
import type { AppendCounts, FileUnit, LandedFile, LoadOutcome } from '../types';
import {
  appendCountsSql,
  appendSql,
  copyHistorySql,
  copySql,
  landedVersionsSql,
  MAX_FILES_PER_COPY,
  refreshPipeSql,
  checkNames,
  stagePath,
  type SnowflakeNames,
} from './stage-sql';

/** ALTER PIPE ... REFRESH only sees files staged in the last 7 days; keep an hour of margin. */
export const PIPE_REFRESH_WINDOW_MS = 7 * 24 * 3600_000 - 3600_000;
const MISSING_RETRIES = 3;

export interface ObjectHead {
  etag: string;
  lastModified: Date | undefined;
}

export interface StageLandingOptions {
  names?: SnowflakeNames;
  mode?: 'copy' | 'pipe';
  /** HEAD of an object, null when it does not exist. Default: the project's S3 client. */
  head?: (bucket: string, key: string) => Promise<ObjectHead | null>;
  now?: () => Date;
}

async function defaultHead(bucket: string, key: string): Promise<ObjectHead | null> {
  try {
    const info = await headObject(bucket, key);
    return { etag: info.etag, lastModified: info.lastModified };
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
    throw err;
  }
}

/** 'YYYY-MM-DD HH:MM:SS' of a Date, UTC, whole seconds (S3's Last-Modified precision). */
export function utcSecond(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

type HistoryRow = {
  file_name: string;
  status: string;
  last_load_time: string | null;
  first_error_message: string | null;
};

interface Candidate {
  unit: FileUnit;
  lastModified: Date;
  /** COPY's result row for the file, when this batch's COPY listed it. */
  copied?: { status: string; linesLoaded: number | null; firstError: string | null; firstErrorLine: number | null };
}

function normaliseStatus(status: string): string {
  return status.trim().toUpperCase().replace(/\s+/g, '_');
}

export class StageLanding implements Landing {
  private readonly names: SnowflakeNames;
  private readonly mode: 'copy' | 'pipe';
  private readonly head: (bucket: string, key: string) => Promise<ObjectHead | null>;
  private readonly now: () => Date;
  private linesOf = new Map<string, string>(); // load id -> lines' last-modified second
  private registry: FlowContext['registry'] | undefined; // from land(), for append()

  constructor(
    private readonly wh: Warehouse,
    opts: StageLandingOptions = {},
  ) {
    if (!opts.names) {
      const w = config().warehouse;
      if (w.engine !== 'snowflake') throw new ConfigError('the stage landing needs WAREHOUSE_ENGINE=snowflake');
      this.names = { database: w.database.toUpperCase(), stage: w.landingStage };
      this.mode = opts.mode ?? w.ingestMode;
    } else {
      this.names = opts.names;
      this.mode = opts.mode ?? 'copy';
    }
    checkNames(this.names);
    this.head = opts.head ?? defaultHead;
    this.now = opts.now ?? (() => new Date());
  }

  async land(decl: DatasetDecl, units: FileUnit[], ctx: FlowContext): Promise<{ landed: LandedFile[]; decided: LoadOutcome[] }> {
    const decided: LoadOutcome[] = [];
    const landed: LandedFile[] = [];
    this.registry = ctx.registry;
    if (units.length === 0) return { landed, decided };
    const fail = (unit: FileUnit, error: PipelineError, note?: string) =>
      decided.push({ unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error, ...(note ? { note } : {}) });
    const supersede = (unit: FileUnit, note: string) => decided.push({ unit, status: 'superseded', rowsLoaded: 0, rowsQuarantined: 0, note });

    // 1. which version is there now?
    const candidates: Candidate[] = [];
    const heads = await mapLimit(units, 8, async (unit): Promise<{ head: ObjectHead | null } | { error: PipelineError }> => {
      try {
        return { head: await this.head(unit.bucket, unit.key) };
      } catch (err) {
        return { error: classifyError(err) };
      }
    });
    units.forEach((unit, i) => {
      const h = heads[i]!;
      if ('error' in h) return fail(unit, h.error);
      if (!h.head) {
        return unit.receiveCount < MISSING_RETRIES
          ? fail(unit, new TransientError(`${unit.key}: object not found (yet): retried`))
          : supersede(unit, 'the object no longer exists');
      }
      if (unit.versionId === undefined && unit.etag && h.head.etag && h.head.etag !== unit.etag) {
        return supersede(unit, 'the object changed after this event: the newer event carries the new content');
      }
      candidates.push({ unit, lastModified: h.head.lastModified ?? new Date(unit.eventTime) });
    });

    // 2. land them
    const viaPipe = candidates.filter((c) => this.mode === 'pipe' && this.now().getTime() - c.lastModified.getTime() < PIPE_REFRESH_WINDOW_MS);
    const viaCopy = candidates.filter((c) => !viaPipe.includes(c));
    const copyFailed = new Map<Candidate, PipelineError>();
    await this.copy(viaCopy, copyFailed, false);

    // 3. find each version's lines
    let versions: Map<string, { lines: number; nul: number }>;
    try {
      versions = await this.landedVersions(candidates.map((c) => c.unit.key));
    } catch (err) {
      const error = classifyError(err);
      for (const c of candidates) fail(c.unit, error);
      return { landed, decided };
    }
    const ready: { c: Candidate; linesModified: string }[] = [];
    const forceList: Candidate[] = [];
    for (const c of viaCopy) {
      const error = copyFailed.get(c) ?? this.unreadable(c);
      if (error) {
        fail(c.unit, error);
        continue;
      }
      const at = utcSecond(c.lastModified);
      const found = versions.get(`${c.unit.key}\u0000${at}`);
      if (found) {
        const problem = this.checkLines(c, found);
        if (problem) fail(c.unit, problem);
        else ready.push({ c, linesModified: at });
        continue;
      }
      const earlier = c.copied ? undefined : await this.sameContentEarlier(c, versions).catch(() => undefined);
      if (earlier) ready.push({ c, linesModified: earlier });
      else forceList.push(c);
    }
    if (forceList.length > 0) {
      // COPY's load metadata says these files were loaded, but their lines are gone (older than the
      // landing table keeps them): copy them again, on purpose, file by file name
      ctx.log.warn('COPY skipped files whose lines are gone: copying them again with FORCE', { files: forceList.map((c) => c.unit.key) });
      const again = new Map<Candidate, PipelineError>();
      await this.copy(forceList, again, true);
      const now = await this.landedVersions(forceList.map((c) => c.unit.key)).catch(() => new Map<string, { lines: number; nul: number }>());
      for (const c of forceList) {
        const at = utcSecond(c.lastModified);
        const found = now.get(`${c.unit.key}\u0000${at}`);
        const error = again.get(c) ?? this.unreadable(c) ?? (found ? this.checkLines(c, found) : undefined);
        if (error) fail(c.unit, error);
        else if (found) ready.push({ c, linesModified: at });
        else fail(c.unit, new TransientError(`${c.unit.key}: no landed lines for Last-Modified ${at} UTC after COPY ... FORCE`));
      }
    }
    if (viaPipe.length > 0) {
      let history: Map<string, HistoryRow[]> | undefined;
      try {
        history = await this.pipeHistory(viaPipe);
      } catch (err) {
        const error = classifyError(err);
        for (const c of viaPipe) fail(c.unit, error);
      }
      if (history) {
        for (const c of viaPipe) await this.pipe(decl, c, versions, history.get(`${c.unit.bucket}/${c.unit.key}`) ?? [], ready, decided);
      }
    }

    for (const { c, linesModified } of ready) {
      const loadId = newLoadId();
      this.linesOf.set(loadId, linesModified);
      landed.push({ unit: c.unit, loadId, lastModified: c.lastModified });
    }
    return { landed, decided };
  }

  /** COPY in chunks; records each listed file's result on its candidate; failures per file. */
  private async copy(list: Candidate[], failures: Map<Candidate, PipelineError>, force: boolean): Promise<void> {
    for (let i = 0; i < list.length; i += MAX_FILES_PER_COPY) {
      const chunk = list.slice(i, i + MAX_FILES_PER_COPY);
      let rows: Record<string, unknown>[];
      try {
        rows = await this.wh.query(copySql(this.names, [...new Set(chunk.map((c) => c.unit.key))], { force }));
      } catch (err) {
        const error = classifyError(err);
        for (const c of chunk) failures.set(c, error);
        continue;
      }
      const byKey = new Map<string, Record<string, unknown>>();
      for (const r of rows) if (typeof r.file === 'string') byKey.set(stagePath(r.file, this.names), r);
      for (const c of chunk) {
        const r = byKey.get(c.unit.key);
        if (!r) continue; // skipped: landed by an earlier COPY (load metadata)
        const errorsSeen = Number(r.errors_seen ?? 0);
        const status = normaliseStatus(String(r.status));
        c.copied = {
          status: status === 'LOADED' && errorsSeen > 0 ? 'PARTIALLY_LOADED' : status,
          linesLoaded: r.rows_loaded === null || r.rows_loaded === undefined ? null : Number(r.rows_loaded),
          firstError: (r.first_error as string | null) ?? null,
          firstErrorLine: r.first_error_line === null || r.first_error_line === undefined ? null : Number(r.first_error_line),
        };
      }
    }
  }

  /** A file COPY could not read as UTF-8 text (or a corrupt gzip): not text, the whole file fails. */
  private unreadable(c: Candidate): PipelineError | undefined {
    const s = c.copied?.status;
    if (!s || s === 'LOADED') return undefined;
    const where = c.copied?.firstErrorLine ? ` (line ${c.copied.firstErrorLine})` : '';
    if (s === 'PARTIALLY_LOADED' || s === 'LOAD_FAILED') {
      return new UnreadableFileError(`${c.unit.key}: Snowflake could not read the file as UTF-8 text${where}: ${c.copied?.firstError ?? s}`);
    }
    return new TerminalError(`${c.unit.key}: unexpected load status ${s}`);
  }

  /** Lines found for a version: no NUL bytes, and as many as COPY said it landed. */
  private checkLines(c: Candidate, found: { lines: number; nul: number }): PipelineError | undefined {
    if (found.nul > 0) return new UnreadableFileError(`${c.unit.key}: not a text file (contains NUL bytes)`);
    const expected = c.copied?.linesLoaded;
    if (expected !== null && expected !== undefined && expected !== found.lines) {
      // lines are found by the object's Last-Modified second (UTC): a mismatch must never load a partial file
      return new TerminalError(
        `${c.unit.key}: Snowflake landed ${expected} lines, but ${found.lines} carry Last-Modified ${utcSecond(c.lastModified)} UTC ` +
          '(METADATA$FILE_LAST_MODIFIED not in UTC?)',
      );
    }
    return undefined;
  }

  private async landedVersions(keys: string[]): Promise<Map<string, { lines: number; nul: number }>> {
    const out = new Map<string, { lines: number; nul: number }>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += 200) {
      const q = landedVersionsSql(this.names, unique.slice(i, i + 200));
      const rows = await this.wh.query<{ file_key: string; last_modified: string; lines: number; nul_lines: number }>(q.sql, q.binds);
      for (const r of rows) out.set(`${r.file_key}\u0000${r.last_modified}`, { lines: Number(r.lines), nul: Number(r.nul_lines) });
    }
    return out;
  }

  /** The lines of an earlier version of this key with the same ETag (same bytes), if still landed. */
  private async sameContentEarlier(c: Candidate, versions: Map<string, { lines: number; nul: number }>): Promise<string | undefined> {
    if (!c.unit.etag) return undefined;
    const rows = await this.wh.query<{ last_modified: string | null }>(
      `select last_modified from ${this.names.database}.raw.file_events
        where bucket = ? and key = ? and etag = ? and last_modified is not null and status in ('loaded', 'held')
        order by recorded_at desc`,
      [c.unit.bucket, c.unit.key, c.unit.etag],
    );
    for (const r of rows) {
      const at = String(r.last_modified).slice(0, 19);
      const found = versions.get(`${c.unit.key}\u0000${at}`);
      if (found && found.nul === 0) return at;
    }
    return undefined;
  }

  /** COPY_HISTORY of the pipe-mode files, one query per bucket and 200 keys (not one per file). */
  private async pipeHistory(list: Candidate[]): Promise<Map<string, HistoryRow[]>> {
    const out = new Map<string, HistoryRow[]>();
    const byBucket = new Map<string, string[]>();
    for (const c of list) byBucket.set(c.unit.bucket, [...(byBucket.get(c.unit.bucket) ?? []), c.unit.key]);
    for (const [bucket, keys] of byBucket) {
      const unique = [...new Set(keys)];
      for (let i = 0; i < unique.length; i += 200) {
        const q = copyHistorySql(this.names, bucket, unique.slice(i, i + 200));
        for (const r of await this.wh.query<HistoryRow>(q.sql, q.binds)) {
          const id = `${bucket}/${stagePath(String(r.file_name), this.names)}`;
          out.set(id, [...(out.get(id) ?? []), r]);
        }
      }
    }
    return out;
  }

  /**
   * Pipe mode: a file Snowpipe finished is appended from its landed lines; otherwise the pipe is asked
   * for it and the record is handed back to SQS (pending), to be finished on a later delivery.
   */
  private async pipe(
    decl: DatasetDecl,
    c: Candidate,
    versions: Map<string, { lines: number; nul: number }>,
    rows: HistoryRow[],
    ready: { c: Candidate; linesModified: string }[],
    decided: LoadOutcome[],
  ): Promise<void> {
    const at = utcSecond(c.lastModified);
    try {
      // rows come ordered by last_load_time; only loads of this version (at or after its Last-Modified)
      const history = rows.filter((r) => r.last_load_time !== null && String(r.last_load_time) >= at);
      const latest = history[history.length - 1];
      const status = latest ? normaliseStatus(String(latest.status)) : undefined;
      const found = versions.get(`${c.unit.key}\u0000${at}`);
      if (status === 'LOADED' && found) {
        const problem = this.checkLines(c, found);
        if (problem) decided.push({ unit: c.unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error: problem });
        else ready.push({ c, linesModified: at });
        return;
      }
      if (status === 'PARTIALLY_LOADED' || status === 'LOAD_FAILED') {
        const error = new UnreadableFileError(`${c.unit.key}: Snowpipe could not read the file as UTF-8 text: ${latest?.first_error_message ?? status}`);
        decided.push({ unit: c.unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error });
        return;
      }
      if (!status) await this.wh.query(refreshPipeSql(this.names, decl.name, c.unit.key));
      decided.push({ unit: c.unit, status: 'pending', rowsLoaded: 0, rowsQuarantined: 0, note: 'handed to Snowpipe; finished on a later delivery' });
    } catch (err) {
      decided.push({ unit: c.unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error: classifyError(err) });
    }
  }

  async append(tx: Warehouse, decl: DatasetDecl, landed: LandedFile[], loadedAt: string): Promise<Map<string, AppendCounts>> {
    const counts = new Map<string, AppendCounts>();
    if (landed.length === 0) return counts;
    const registry = this.registry;
    if (!registry) throw new ConfigError('append() before land()');
    const files = landed.map((f) => ({
      key: f.unit.key,
      loadId: f.loadId,
      linesModified: this.linesOf.get(f.loadId)!,
    }));
    const insert = appendSql(this.names, registry, decl, files, loadedAt);
    await tx.execute(insert.sql, insert.binds);
    for (const f of landed) counts.set(f.loadId, { rows: 0, quarantined: 0, firstReason: undefined, fatal: undefined });
    const q = appendCountsSql(this.names, decl, landed.map((f) => f.loadId));
    for (const r of await tx.query<{ load_id: string; what: string; n: number; reason: string | null }>(q.sql, q.binds)) {
      const c = counts.get(r.load_id);
      if (!c) continue;
      if (r.what === 'rows') c.rows = Number(r.n);
      else if (r.what === 'quarantined') {
        c.quarantined = Number(r.n);
        c.firstReason = r.reason ?? undefined;
      } else c.fatal = r.reason ?? 'the file cannot be read as this dataset';
    }
    return counts;
  }
}
