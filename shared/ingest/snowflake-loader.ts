/**
 * Snowflake loader: the DatasetLoader of the AWS stages. The SQL and the reasons for its shape are in
 * ./snowflake-sql.ts; this file runs it and turns results into per-file outcomes.
 *
 * For one dataset's files of a batch:
 *   1. triage against the ledger (./ledger.ts): duplicates and superseded versions settle at once;
 *   2. HEAD each object: an ETag other than the event's means the key was overwritten after the event
 *      (or deleted): this version is superseded, the newer event will bring the newer content. The
 *      Last-Modified time identifies this version's lines in the landing table;
 *   3. land the files: one COPY INTO ... FILES = (...) for the batch (INGEST_MODE=copy, and in pipe mode
 *      for files staged more than 7 days ago), or ALTER PIPE ... REFRESH PREFIX = '<key>' per file
 *      (INGEST_MODE=pipe), whose asynchronous load is followed in COPY_HISTORY;
 *   4. the verdict of each file's load (COPY result row, else COPY_HISTORY): a file Snowflake could not
 *      read (not UTF-8, corrupt gzip) fails as unreadable; then, for all remaining files at once, the
 *      landed line counts are checked and the row rules pick the quarantined lines;
 *   5. one transaction for the batch (statements cost round trips; a handful per batch, not per file):
 *      take the dataset's lock and triage again (another invocation may have won meanwhile),
 *      clearPreviousAll, INSERT ... SELECT from the landing table, the quarantine, delete the consumed
 *      landing lines, the ledger rows. If it fails for a reason other than a transient one, the files
 *      are written one per transaction so one bad file cannot hold back the others.
 *
 * Failures: a statement that fails transiently (network, throttling, a COPY cut off mid-way) fails
 * only the files it concerned, as TransientError, and writes nothing (SQS redelivers them; the COPY
 * of the redelivery finds the files already landed and the lines still in the landing table). A
 * file that can never load fails terminally and its ledger row says why.
 */
import { mapLimit } from '../concurrency';
import { config, type Dataset } from '../config';
import { classifyError, ConfigError, TerminalError, TransientError, UnreadableFileError, errorMessage, type PipelineError } from '../errors';
import { logger as rootLogger, type Logger } from '../logger';
import { headObject } from '../storage/object-store';
import type { SnowflakeConfig } from '../warehouse/snowflake';
import type { Warehouse } from '../warehouse/port';
import { clearPreviousAll, insertQuarantine, lockDataset, recordOutcomes, toWarehouseTimestamp, triage } from './ledger';
import {
  copyHistoryBinds,
  copyHistorySql,
  copySql,
  deleteLandedSql,
  deleteVersionSql,
  insertRowsSql,
  landedSummarySql,
  loadedCountsSql,
  MAX_FILES_PER_COPY,
  refreshPipeSql,
  rejectedLinesSql,
  stagePath,
  type LandedVersion,
  type SnowflakeNames,
} from './snowflake-sql';
import type { DatasetLoader, FileUnit, LoadOutcome, QuarantinedLine } from './types';

/** ALTER PIPE ... REFRESH only sees files staged in the last 7 days; keep an hour of margin. */
export const PIPE_REFRESH_WINDOW_MS = 7 * 24 * 3600_000 - 3600_000;

export interface ObjectHead {
  etag: string;
  lastModified: Date | undefined;
}

export interface SnowflakeLoaderOptions {
  /** Snowflake names and mode; default `config().warehouse`. */
  cfg?: Pick<SnowflakeConfig, 'database' | 'landingStage' | 'ingestMode'>;
  /** The bucket the landing stage reads; default `config().buckets.landing`. */
  landingBucket?: string;
  /** HEAD of an object, null when it does not exist. Default: the project's S3 client. */
  head?: (bucket: string, key: string) => Promise<ObjectHead | null>;
  now?: () => Date;
  /** Pipe mode: how long to wait for Snowpipe before letting SQS redeliver. Default 20 s. */
  pipeWaitMs?: number;
  pipePollMs?: number;
  log?: Logger;
}

/** What Snowflake says about a file's load. */
interface LoadVerdict {
  status: 'LOADED' | 'PARTIALLY_LOADED' | 'LOAD_FAILED' | 'LOAD_SKIPPED' | 'LOAD_IN_PROGRESS' | string;
  firstError: string | null;
  firstErrorLine: number | null;
  /** Lines Snowflake says it put in the landing table (COPY rows_loaded, COPY_HISTORY row_count). */
  linesLanded: number | null;
  source: 'copy' | 'history';
}

interface Candidate {
  unit: FileUnit;
  version: LandedVersion;
  verdict?: LoadVerdict;
  /** COPY did not list the file: already landed before (load metadata). */
  skipped?: boolean;
}

function snowflakeConfig(): SnowflakeConfig {
  const wh = config().warehouse;
  if (wh.engine !== 'snowflake') throw new ConfigError('the Snowflake loader needs WAREHOUSE_ENGINE=snowflake in the configuration');
  return wh;
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
function utcSecond(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function normaliseStatus(status: string): string {
  return status.trim().toUpperCase().replace(/\s+/g, '_');
}

const failed = (unit: FileUnit, error: PipelineError): LoadOutcome => ({ unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error });
const superseded = (unit: FileUnit): LoadOutcome => ({ unit, status: 'superseded', rowsLoaded: 0, rowsQuarantined: 0 });

export class SnowflakeLoader implements DatasetLoader {
  private readonly names: SnowflakeNames;
  private readonly mode: 'copy' | 'pipe';
  private readonly bucket: string;
  private readonly head: (bucket: string, key: string) => Promise<ObjectHead | null>;
  private readonly now: () => Date;
  private readonly log: Logger;
  private readonly pipeWaitMs: number;
  private readonly pipePollMs: number;

  constructor(
    private readonly wh: Warehouse,
    opts: SnowflakeLoaderOptions = {},
  ) {
    const cfg = opts.cfg ?? snowflakeConfig();
    this.names = { database: cfg.database.toUpperCase(), stage: cfg.landingStage };
    this.mode = cfg.ingestMode;
    this.bucket = opts.landingBucket ?? config().buckets.landing;
    this.head = opts.head ?? defaultHead;
    this.now = opts.now ?? (() => new Date());
    this.log = (opts.log ?? rootLogger).child({ loader: 'snowflake' });
    this.pipeWaitMs = opts.pipeWaitMs ?? 20_000;
    this.pipePollMs = opts.pipePollMs ?? 2_000;
  }

  async load(dataset: Dataset, units: FileUnit[]): Promise<LoadOutcome[]> {
    const { toLoad, settled } = await triage(this.wh, units);
    const outcomes: LoadOutcome[] = [...settled];
    await this.record(settled.filter((o) => o.status === 'superseded'));

    // 2. which version is there now?
    const candidates: Candidate[] = [];
    const decided: LoadOutcome[] = [];
    const heads = await mapLimit(toLoad, 8, (unit) => this.checkObject(unit));
    for (const [i, unit] of toLoad.entries()) {
      const head = heads[i]!;
      if ('outcome' in head) decided.push(head.outcome);
      else candidates.push({ unit, version: head.version });
    }
    outcomes.push(...decided);
    await this.record(decided.filter((o) => o.status === 'superseded' || (o.status === 'failed' && !o.error?.retryable)));

    // 3. land them
    const viaPipe = candidates.filter((c) => this.mode === 'pipe' && this.withinPipeWindow(c));
    const viaCopy = candidates.filter((c) => !viaPipe.includes(c));
    const failures = new Map<Candidate, PipelineError>();
    await this.copy(dataset, viaCopy, failures);
    await this.lookUpHistory(dataset, viaCopy.filter((c) => c.skipped && !failures.has(c)), failures);
    await this.pipe(dataset, viaPipe, failures);

    // 4. verdicts, line counts, row rules
    for (const c of candidates) {
      if (failures.has(c)) continue;
      const verdict = c.verdict;
      if (verdict && verdict.status !== 'LOADED') {
        const unreadable = verdict.status === 'PARTIALLY_LOADED' || verdict.status === 'LOAD_FAILED';
        const where = verdict.firstErrorLine ? ` (line ${verdict.firstErrorLine})` : '';
        failures.set(
          c,
          unreadable
            ? new UnreadableFileError(`${c.unit.key}: Snowflake could not read the file as UTF-8 text${where}: ${verdict.firstError ?? verdict.status}`)
            : new TerminalError(`${c.unit.key}: unexpected load status ${verdict.status}`),
        );
      }
    }
    const rejected = await this.check(dataset, candidates.filter((c) => !failures.has(c)), failures);

    // 5. write
    const ready = candidates.filter((c) => !failures.has(c));
    outcomes.push(...(await this.writeAll(dataset, ready, rejected)));
    const lost = candidates.filter((c) => failures.has(c)).map((c) => ({ c, outcome: failed(c.unit, failures.get(c)!) }));
    outcomes.push(...lost.map((l) => l.outcome));
    await this.recordFailures(dataset, lost.filter((l) => !l.outcome.error!.retryable));
    return outcomes;
  }

  private withinPipeWindow(c: Candidate): boolean {
    const staged = Math.min(Date.parse(c.unit.eventTime), Date.parse(c.version.lastModified.replace(' ', 'T') + 'Z'));
    return this.now().getTime() - staged < PIPE_REFRESH_WINDOW_MS;
  }

  /** HEAD: the version to load (its Last-Modified), or an outcome decided without loading. */
  private async checkObject(unit: FileUnit): Promise<{ version: LandedVersion } | { outcome: LoadOutcome }> {
    if (unit.bucket !== this.bucket) {
      return {
        outcome: failed(unit, new TerminalError(`${unit.bucket}/${unit.key}: the landing stage reads bucket ${this.bucket}, not ${unit.bucket}`)),
      };
    }
    try {
      const head = await this.head(unit.bucket, unit.key);
      // gone, or overwritten after this event: the newer event carries the newer content
      if (!head || (unit.etag && head.etag && head.etag !== unit.etag)) return { outcome: superseded(unit) };
      const lastModified = head.lastModified ?? new Date(unit.eventTime);
      return { version: { key: unit.key, lastModified: utcSecond(lastModified), version: unit.version } };
    } catch (err) {
      return { outcome: failed(unit, classifyError(err)) };
    }
  }

  /** One COPY per batch (in chunks of 1,000 files); records each file's result row on its candidate. */
  private async copy(dataset: Dataset, list: Candidate[], failures: Map<Candidate, PipelineError>): Promise<void> {
    for (let i = 0; i < list.length; i += MAX_FILES_PER_COPY) {
      const chunk = list.slice(i, i + MAX_FILES_PER_COPY);
      const keys = [...new Set(chunk.map((c) => c.unit.key))];
      let rows: Record<string, unknown>[];
      try {
        rows = await this.wh.query(copySql(this.names, dataset, keys));
      } catch (err) {
        const error = classifyError(err);
        this.log.warn('COPY failed', { dataset, files: keys.length, error: error.message, retryable: error.retryable });
        for (const c of chunk) failures.set(c, error);
        continue;
      }
      const byKey = new Map<string, Record<string, unknown>>();
      for (const r of rows) if (typeof r.file === 'string') byKey.set(stagePath(r.file), r);
      for (const c of chunk) {
        const r = byKey.get(c.unit.key);
        if (!r) {
          c.skipped = true; // landed by an earlier attempt: Snowflake's load metadata skipped it
          continue;
        }
        const errorsSeen = Number(r.errors_seen ?? 0);
        const status = normaliseStatus(String(r.status));
        c.verdict = {
          status: status === 'LOADED' && errorsSeen > 0 ? 'PARTIALLY_LOADED' : status,
          firstError: (r.first_error as string | null) ?? null,
          firstErrorLine: r.first_error_line === null || r.first_error_line === undefined ? null : Number(r.first_error_line),
          linesLanded: r.rows_loaded === null || r.rows_loaded === undefined ? null : Number(r.rows_loaded),
          source: 'copy',
        };
      }
      this.log.info('COPY', { dataset, files: keys.length, listed: rows.filter((r) => typeof r.file === 'string').length });
    }
  }

  /** The newest load of each file at or after its version's Last-Modified, from COPY_HISTORY. */
  private async history(dataset: Dataset, list: Candidate[]): Promise<Map<Candidate, LoadVerdict>> {
    const found = new Map<Candidate, LoadVerdict>();
    if (list.length === 0) return found;
    const keys = [...new Set(list.map((c) => c.unit.key))];
    const rows = await this.wh.query(copyHistorySql(this.names, dataset, keys.length).sql, copyHistoryBinds(this.bucket, keys));
    for (const c of list) {
      const since = Date.parse(c.version.lastModified.replace(' ', 'T') + 'Z');
      const mine = rows.filter(
        (r) =>
          stagePath(String(r.file_name)) === c.unit.key &&
          r.last_load_time !== null &&
          Date.parse(String(r.last_load_time).replace(' ', 'T') + 'Z') >= since,
      );
      const latest = mine[mine.length - 1];
      if (latest) {
        found.set(c, {
          status: normaliseStatus(String(latest.status)),
          firstError: (latest.first_error_message as string | null) ?? null,
          firstErrorLine: null,
          linesLanded: latest.row_count === null || latest.row_count === undefined ? null : Number(latest.row_count),
          source: 'history',
        });
      }
    }
    return found;
  }

  private async lookUpHistory(dataset: Dataset, list: Candidate[], failures: Map<Candidate, PipelineError>): Promise<void> {
    try {
      const found = await this.history(dataset, list);
      for (const [c, verdict] of found) c.verdict = verdict;
    } catch (err) {
      const error = classifyError(err);
      for (const c of list) failures.set(c, error);
    }
  }

  /**
   * Pipe mode: a file the pipe already loaded is finished from its landing lines; otherwise the pipe is
   * asked to load it and followed for a while. Still pending: the record is retried by SQS later.
   */
  private async pipe(dataset: Dataset, list: Candidate[], failures: Map<Candidate, PipelineError>): Promise<void> {
    if (list.length === 0) return;
    try {
      let pending = list;
      const known = await this.history(dataset, pending);
      for (const [c, v] of known) if (v.status !== 'LOAD_IN_PROGRESS') c.verdict = v;
      pending = pending.filter((c) => !c.verdict);
      for (const c of pending) await this.wh.query(refreshPipeSql(this.names, dataset, c.unit.key));
      const deadline = Date.now() + this.pipeWaitMs;
      while (pending.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(this.pipePollMs, Math.max(0, deadline - Date.now()))));
        const found = await this.history(dataset, pending);
        for (const [c, v] of found) if (v.status !== 'LOAD_IN_PROGRESS') c.verdict = v;
        pending = pending.filter((c) => !c.verdict);
      }
      for (const c of pending) {
        failures.set(c, new TransientError(`${c.unit.key}: Snowpipe has not loaded the file yet; it will be looked at again on redelivery`));
      }
    } catch (err) {
      const error = classifyError(err);
      for (const c of list) if (!c.verdict) failures.set(c, error);
    }
  }

  /**
   * Read-only checks of the landed lines of all files at once: the line counts agree with what
   * Snowflake reported, no NUL bytes, and the row rules' verdicts (quarantined lines; for CSV a file
   * that cannot be read as its dataset). Files that fail are put in `failures`.
   */
  private async check(dataset: Dataset, list: Candidate[], failures: Map<Candidate, PipelineError>): Promise<Map<string, QuarantinedLine[]>> {
    const rejected = new Map<string, QuarantinedLine[]>();
    if (list.length === 0) return rejected;
    try {
      const summary = new Map(
        (await this.wh.query<{ file_key: string; lines: number; nul_lines: number }>(...bound(landedSummarySql(this.names, dataset, list.map((c) => c.version))))).map(
          (r) => [r.file_key, r],
        ),
      );
      for (const c of list) {
        const lines = Number(summary.get(c.unit.key)?.lines ?? 0);
        const expected = c.verdict?.linesLanded;
        if (c.skipped && !c.verdict && lines === 0) {
          // load metadata says the file was landed, yet neither its lines nor its history (14 days) are
          // there: most likely the same bytes as a version loaded earlier. Loading nothing would wipe
          // the key's rows, so stop and say so.
          failures.set(
            c,
            new TerminalError(
              `${c.unit.key}: Snowflake skipped the file as already loaded and its landed lines are gone ` +
                `(same content as an earlier version?). Reload on purpose with COPY ... FORCE = TRUE for this file.`,
            ),
          );
        } else if (expected !== null && expected !== undefined && expected !== lines) {
          // lines are found by the object's Last-Modified second (UTC); a mismatch must never load a
          // partial or empty file over the key's rows
          failures.set(
            c,
            new TerminalError(
              `${c.unit.key}: Snowflake landed ${expected} lines, but ${lines} are found for Last-Modified ` +
                `${c.version.lastModified} UTC in ${dataset}'s landing table (METADATA$FILE_LAST_MODIFIED not in UTC?)`,
            ),
          );
        } else if (Number(summary.get(c.unit.key)?.nul_lines ?? 0) > 0) {
          failures.set(c, new UnreadableFileError(`${c.unit.key}: not a text file (contains NUL bytes)`));
        }
      }
      const remaining = list.filter((c) => !failures.has(c));
      if (remaining.length === 0) return rejected;
      const rows = await this.wh.query<{ file_key: string; line_number: number; status: string; raw_text: string | null; reason: string }>(
        ...bound(rejectedLinesSql(this.names, dataset, remaining.map((c) => c.version))),
      );
      for (const r of rows) {
        const c = remaining.find((x) => x.unit.key === r.file_key);
        if (!c) continue;
        if (r.status === 'unreadable') {
          failures.set(c, new UnreadableFileError(`${c.unit.key}: ${r.reason}`));
          continue;
        }
        const lines = rejected.get(r.file_key) ?? [];
        lines.push({ lineNumber: Number(r.line_number), rawText: r.raw_text ?? '', reason: r.reason });
        rejected.set(r.file_key, lines);
      }
    } catch (err) {
      const error = classifyError(err);
      for (const c of list) if (!failures.has(c)) failures.set(c, error);
    }
    return rejected;
  }

  /** All ready files in one transaction; when that fails (not transiently), one transaction per file. */
  private async writeAll(dataset: Dataset, ready: Candidate[], rejected: Map<string, QuarantinedLine[]>): Promise<LoadOutcome[]> {
    if (ready.length === 0) return [];
    try {
      return await this.writeFiles(dataset, ready, rejected);
    } catch (err) {
      const error = classifyError(err);
      if (error.retryable) return ready.map((c) => failed(c.unit, error));
      if (ready.length === 1) {
        const outcome = failed(ready[0]!.unit, error);
        await this.recordFailures(dataset, [{ c: ready[0]!, outcome }]);
        return [outcome];
      }
      this.log.warn('batch write failed; writing file by file', { dataset, files: ready.length, error: error.message });
      const outcomes: LoadOutcome[] = [];
      for (const c of ready) {
        try {
          outcomes.push(...(await this.writeFiles(dataset, [c], rejected)));
        } catch (e) {
          const one = classifyError(e);
          outcomes.push(failed(c.unit, one));
          if (!one.retryable) await this.recordFailures(dataset, [{ c, outcome: failed(c.unit, one) }]);
        }
      }
      return outcomes;
    }
  }

  /**
   * One transaction: under the dataset's lock, decide again (another invocation may have loaded some
   * of these since the first triage), then replace, insert, quarantine, consume the landing lines and
   * write the ledger rows. Returns an outcome per file.
   */
  private async writeFiles(dataset: Dataset, files: Candidate[], rejected: Map<string, QuarantinedLine[]>): Promise<LoadOutcome[]> {
    const loadedAt = toWarehouseTimestamp(this.now().toISOString());
    const result = await this.wh.transaction(async (tx) => {
      await lockDataset(tx, dataset, 'ingest');
      const { toLoad, settled } = await triage(
        tx,
        files.map((c) => c.unit),
      );
      const load = files.filter((c) => toLoad.includes(c.unit));
      const outcomes: LoadOutcome[] = [];
      if (load.length > 0) {
        await clearPreviousAll(
          tx,
          load.map((c) => c.unit),
        );
        const versions = load.map((c) => c.version);
        for (const b of insertRowsSql(this.names, dataset, versions, loadedAt)) await tx.execute(...bound(b));
        const counts = new Map(
          (await tx.query<{ file_key: string; n: number }>(...bound(loadedCountsSql(this.names, dataset, [...new Set(versions.map((v) => v.key))])))).map(
            (r) => [r.file_key, Number(r.n)],
          ),
        );
        for (const c of load) {
          const lines = rejected.get(c.unit.key) ?? [];
          if (lines.length > 0) await insertQuarantine(tx, c.unit, lines);
          outcomes.push({ unit: c.unit, status: 'loaded', rowsLoaded: counts.get(c.unit.key) ?? 0, rowsQuarantined: lines.length });
        }
        await tx.execute(...bound(deleteLandedSql(this.names, dataset, versions)));
      }
      const toRecord = [...outcomes, ...settled.filter((o) => o.status === 'superseded')];
      await recordOutcomes(
        tx,
        toRecord,
        toRecord.map((o) => rejected.get(o.unit.key)?.[0]?.reason),
      );
      return [...outcomes, ...settled];
    });
    for (const o of result) {
      if (o.status === 'loaded') this.log.info('file loaded', { dataset, key: o.unit.key, rows: o.rowsLoaded, quarantined: o.rowsQuarantined });
    }
    return result;
  }

  /**
   * The ledger rows of files that will not load, best effort. An unreadable file's landed lines are
   * removed (they can never load); after any other failure they stay, so that once its cause is fixed
   * (a grant, say) a redrive from the DLQ finishes the file from them.
   */
  private async recordFailures(dataset: Dataset, lost: { c: Candidate; outcome: LoadOutcome }[]): Promise<void> {
    if (lost.length === 0) return;
    const unreadable = lost.filter((l) => l.outcome.error instanceof UnreadableFileError).map((l) => l.c.version);
    try {
      await this.wh.transaction(async (tx) => {
        if (unreadable.length > 0) await tx.execute(...bound(deleteVersionSql(this.names, dataset, unreadable)));
        await recordOutcomes(
          tx,
          lost.map((l) => l.outcome),
        );
      });
    } catch (err) {
      // the records fail either way; the ledger rows are for diagnosis
      this.log.warn('could not record failed files', { files: lost.map((l) => l.c.unit.key), error: errorMessage(err) });
    }
  }

  /** Ledger rows of outcomes decided before loading (superseded, wrong bucket). */
  private async record(outcomes: LoadOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    await this.wh.transaction((tx) => recordOutcomes(tx, outcomes));
  }
}

function bound(b: { sql: string; binds: (string | number | null)[] }): [string, (string | number | null)[]] {
  return [b.sql, b.binds];
}
