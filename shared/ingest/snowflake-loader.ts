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
 *   4. per file, in this order: the verdict of the load (COPY result row, else COPY_HISTORY): a file
 *      Snowflake could not read (not UTF-8, corrupt gzip) fails as unreadable; then the row rules
 *      pick the quarantined lines; then one transaction: clearPrevious + INSERT ... SELECT from the
 *      landing table + quarantine + delete the consumed landing lines + the ledger row.
 *
 * Failures: a statement that fails transiently (network, throttling, a COPY cut off mid-way) fails
 * only the files it concerned, as TransientError, and writes nothing (SQS redelivers them; the COPY
 * of the redelivery finds the files already landed and the lines still in the landing table). A
 * file that can never load fails terminally and its ledger row says why.
 */
import { config, type Dataset } from '../config';
import { classifyError, ConfigError, TerminalError, TransientError, UnreadableFileError, errorMessage, type PipelineError } from '../errors';
import { logger as rootLogger, type Logger } from '../logger';
import { headObject } from '../storage/object-store';
import type { SnowflakeConfig } from '../warehouse/snowflake';
import type { Warehouse } from '../warehouse/port';
import { clearPrevious, insertQuarantine, recordOutcome, toWarehouseTimestamp, triage } from './ledger';
import {
  copyHistoryBinds,
  copyHistorySql,
  copySql,
  deleteLandedSql,
  deleteVersionSql,
  insertRowsSql,
  landedSummarySql,
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
  cfg?: Pick<SnowflakeConfig, 'database' | 'stage' | 'ingestMode'>;
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
    this.names = { database: cfg.database.toUpperCase(), stage: cfg.stage };
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
    const heads = await mapLimit(toLoad, 8, (unit) => this.checkObject(unit));
    for (const [i, unit] of toLoad.entries()) {
      const head = heads[i]!;
      if ('outcome' in head) outcomes.push(head.outcome);
      else candidates.push({ unit, version: head.version });
    }
    await this.record(outcomes.filter((o) => o.status === 'superseded' && !settled.includes(o)));
    for (const o of outcomes) {
      if (o.status === 'failed' && o.error && !o.error.retryable) {
        await this.wh.transaction((tx) => recordOutcome(tx, o)).catch((err) => this.log.warn('could not record a failed file', { key: o.unit.key, error: errorMessage(err) }));
      }
    }

    // 3. land them
    const viaPipe = candidates.filter((c) => this.mode === 'pipe' && this.withinPipeWindow(c));
    const viaCopy = candidates.filter((c) => !viaPipe.includes(c));
    const landingFailures = new Map<Candidate, PipelineError>();
    await this.copy(dataset, viaCopy, landingFailures);
    await this.lookUpHistory(dataset, viaCopy.filter((c) => c.skipped && !landingFailures.has(c)), landingFailures);
    await this.pipe(dataset, viaPipe, landingFailures);

    // 4. per file
    for (const c of candidates) {
      const landingError = landingFailures.get(c);
      const outcome = landingError ? failed(c.unit, landingError) : await this.finish(dataset, c);
      if (outcome.status === 'failed' && outcome.error && !outcome.error.retryable) await this.recordFailure(dataset, c, outcome);
      outcomes.push(outcome);
    }
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
      return { version: { key: unit.key, lastModified: utcSecond(lastModified) } };
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

  /** Verdict -> unreadable, or validate and write the file in one transaction. */
  private async finish(dataset: Dataset, c: Candidate): Promise<LoadOutcome> {
    const { unit, version } = c;
    try {
      const verdict = c.verdict;
      if (verdict && verdict.status !== 'LOADED') {
        if (verdict.status === 'PARTIALLY_LOADED' || verdict.status === 'LOAD_FAILED') {
          const where = verdict.firstErrorLine ? ` (line ${verdict.firstErrorLine})` : '';
          throw new UnreadableFileError(`${unit.key}: Snowflake could not read the file as UTF-8 text${where}: ${verdict.firstError ?? verdict.status}`);
        }
        throw new TerminalError(`${unit.key}: unexpected load status ${verdict.status}`);
      }
      const [summary] = await this.wh.query<{ lines: number; nul_lines: number }>(
        ...bound(landedSummarySql(this.names, dataset, version)),
      );
      if (c.skipped && !verdict && Number(summary?.lines ?? 0) === 0) {
        // load metadata says the file was loaded into the landing table, yet neither its lines nor its
        // history (14 days) are there: most likely the same bytes as a version loaded earlier. Loading
        // nothing would wipe the key's rows, so stop and say so.
        throw new TerminalError(
          `${unit.key}: Snowflake skipped the file as already loaded and its landed lines are gone ` +
            `(same content as an earlier version?). Reload on purpose with COPY ... FORCE = TRUE for this file.`,
        );
      }
      if (verdict?.linesLanded !== null && verdict?.linesLanded !== undefined && verdict.linesLanded !== Number(summary?.lines ?? 0)) {
        // the lines are found by the object's Last-Modified second (UTC); a mismatch must never load a
        // partial or empty file over the key's rows
        throw new TerminalError(
          `${unit.key}: Snowflake landed ${verdict.linesLanded} lines, but ${Number(summary?.lines ?? 0)} are found for ` +
            `Last-Modified ${version.lastModified} UTC in ${dataset}'s landing table (METADATA$FILE_LAST_MODIFIED not in UTC?)`,
        );
      }
      if (Number(summary?.nul_lines ?? 0) > 0) throw new UnreadableFileError(`${unit.key}: not a text file (contains NUL bytes)`);

      const rejected = await this.wh.query<{ line_number: number; status: string; raw_text: string | null; reason: string }>(
        ...bound(rejectedLinesSql(this.names, dataset, version)),
      );
      const unreadable = rejected.find((r) => r.status === 'unreadable');
      if (unreadable) throw new UnreadableFileError(`${unit.key}: ${unreadable.reason}`);
      const lines: QuarantinedLine[] = rejected.map((r) => ({ lineNumber: Number(r.line_number), rawText: r.raw_text ?? '', reason: r.reason }));

      const outcome: LoadOutcome = { unit, status: 'loaded', rowsLoaded: 0, rowsQuarantined: lines.length };
      const write = { ...version, version: unit.version, loadedAt: toWarehouseTimestamp(this.now().toISOString()) };
      await this.wh.transaction(async (tx) => {
        await clearPrevious(tx, unit);
        const [first, ...rest] = insertRowsSql(this.names, dataset, write);
        outcome.rowsLoaded = await tx.execute(...bound(first!));
        for (const b of rest) await tx.execute(...bound(b));
        await insertQuarantine(tx, unit, lines);
        await tx.execute(...bound(deleteLandedSql(this.names, dataset, version)));
        await recordOutcome(tx, outcome, lines[0]?.reason);
      });
      this.log.info('file loaded', { dataset, key: unit.key, rows: outcome.rowsLoaded, quarantined: lines.length });
      return outcome;
    } catch (err) {
      return failed(unit, classifyError(err));
    }
  }

  /** The ledger row of a file that will never load, and its partial landing lines gone. Best effort. */
  private async recordFailure(dataset: Dataset, c: Candidate, outcome: LoadOutcome): Promise<void> {
    try {
      await this.wh.transaction(async (tx) => {
        await tx.execute(...bound(deleteVersionSql(this.names, dataset, c.version)));
        await recordOutcome(tx, outcome);
      });
    } catch (err) {
      // the record fails either way; the ledger row is for diagnosis
      this.log.warn('could not record a failed file', { key: c.unit.key, error: errorMessage(err) });
    }
  }

  private async record(outcomes: LoadOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    await this.wh.transaction(async (tx) => {
      for (const o of outcomes) await recordOutcome(tx, o);
    });
  }
}

function bound(b: { sql: string; binds: (string | number | null)[] }): [string, (string | number | null)[]] {
  return [b.sql, b.binds];
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}
