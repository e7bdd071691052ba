/**
 * An engine behind the fake Snowflake that executes the ingest path's SQL for real, so driver tests
 * see what a query would return, not what a script says. Storage and every plain statement (the ledger
 * and its views, counts, the ingest DDL migrate renders) run in DuckDB after a small translation of
 * Snowflake's names and types; what DuckDB cannot run is simulated from Snowflake's documentation:
 *
 * - COPY INTO raw.landing_lines FROM @stage FILES = (...): reads the engine's objects (`put`) with the
 *   project's lines format: compression detected, the byte-order mark skipped, one row per physical line
 *   split on '\n', nothing else parsed; METADATA$FILENAME (the path relative to the stage, the bucket
 *   root), METADATA$FILE_ROW_NUMBER, METADATA$FILE_LAST_MODIFIED (TIMESTAMP_NTZ), METADATA$FILE_CONTENT_KEY.
 *   A line that is not UTF-8 is an error: with ON_ERROR = CONTINUE it is skipped and the file is
 *   PARTIALLY_LOADED. A file loaded before with the same checksum (ETag) is skipped unless FORCE = TRUE
 *   (load metadata, 64 days).
 *   https://docs.snowflake.com/en/sql-reference/sql/copy-into-table
 *   https://docs.snowflake.com/en/user-guide/querying-metadata
 *   https://docs.snowflake.com/en/user-guide/data-load-considerations-load#load-metadata
 *   https://docs.snowflake.com/en/sql-reference/sql/create-file-format (SKIP_BYTE_ORDER_MARK, COMPRESSION = AUTO)
 * - CREATE FUNCTION ... LANGUAGE JAVASCRIPT: the body is kept, and a call in TABLE(...) OVER (...) runs it
 *   as tabular UDFs are documented (./udtf.ts): finalize() rows carry only the PARTITION BY columns.
 * - INSERT ALL WHEN ... THEN INTO t (cols) VALUES (source columns) ... <subquery>: every row of the
 *   subquery executes each INTO clause whose condition holds; VALUES name the subquery's columns. The
 *   subquery the ingest path sends (shared/ingest/landing/stage-sql.ts appendSql) is evaluated here;
 *   NOT NULL is enforced as Snowflake does (error 100072).
 *   https://docs.snowflake.com/en/sql-reference/sql/insert-multi-table
 * - Internal stages (CREATE STAGE without URL), PUT and LIST: a stage is a directory. PUT answers as the
 *   service does, with instructions for the driver, which copies the file itself (a LOCAL_FS location,
 *   ./index.ts UploadInstruction); PUT onto an external stage or an unknown one is refused, a relative
 *   path too (the syntax is `PUT file://<absolute_path_to_file>/<filename> internalStage`), and the
 *   documented defaults hold (AUTO_COMPRESS = TRUE: the driver gzips the file and adds `.gz`;
 *   OVERWRITE = FALSE; SOURCE_COMPRESSION = AUTO_DETECT; PARALLEL = 4). LIST gives name
 *   (`<stage name>/<path>`, lower case, as for internal stages), size, md5 of the staged bytes and
 *   last_modified (RFC 1123, whole seconds); COPY from an internal stage reads the files PUT left, and
 *   names them `<stage name>/<path>` in its result.
 *   https://docs.snowflake.com/en/sql-reference/sql/put, https://docs.snowflake.com/en/sql-reference/sql/list,
 *   https://docs.snowflake.com/en/sql-reference/sql/create-stage
 * - COPY_HISTORY and ALTER PIPE ... REFRESH: from the engine's record of loads; a pipe loads what it was
 *   asked for when the test says Snowpipe has run (`runPipes()`), as its latency is minutes.
 *   https://docs.snowflake.com/en/sql-reference/functions/copy_history
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { col, type ColumnSpec, type FakeSnowflake, type QueryContext, type Reply, type StatementEngine } from './index';
import { runJavascriptUdtf } from './udtf';
import { stripComments } from '../../../shared/warehouse/split-statements';

export interface StagedObject {
  bytes: Buffer;
  lastModified: Date;
  etag: string;
}

interface LoadRecord {
  key: string;
  status: 'Loaded' | 'Partially loaded' | 'Load failed';
  rows: number;
  firstError: string | null;
  at: Date;
  pipe: string | null;
}

interface JsFunction {
  body: string;
  args: { name: string; type: string }[];
  returns: { name: string; type: string }[];
}

const NOT_NULL = /NOT NULL constraint failed: (\S+)/i;

export class SnowflakeEngine implements StatementEngine {
  readonly objects = new Map<string, StagedObject>();
  readonly loads: LoadRecord[] = [];
  /** Files asked for by ALTER PIPE ... REFRESH, not loaded yet. */
  readonly pipeQueue: { pipe: string; key: string }[] = [];
  /** Rows each JavaScript table function was called with (processRow calls), by its name as written. */
  readonly udtfRows = new Map<string, number>();
  /** (key, checksum) pairs COPY loaded into the landing table: its load metadata. */
  private readonly loadMetadata = new Set<string>();
  private readonly functions = new Map<string, JsFunction>();
  private readonly sessions = new Map<number, { connection: DuckDBConnection; txn: number | null }>();
  /** Stages created, by schema.name (upper case): internal ones have a directory. */
  readonly stages = new Map<string, { internal: boolean; dir?: string }>();
  private stageRoot: string | undefined;
  private clock = () => new Date();

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly database: string,
    readonly bucket: string,
  ) {}

  static async attach(fake: FakeSnowflake, opts: { database?: string; bucket?: string } = {}): Promise<SnowflakeEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    const engine = new SnowflakeEngine(instance, (opts.database ?? 'SHOPPING_PATTERNS').toUpperCase(), opts.bucket ?? 'landing');
    const c = await instance.connect();
    await c.run('create schema if not exists raw; create schema if not exists staging; create schema if not exists analytics; create schema if not exists governance');
    c.closeSync();
    fake.engine = engine;
    return engine;
  }

  /** An object in the landing bucket (the stage's URL); `lastModified` whole seconds, as S3 keeps it. */
  put(key: string, body: string | Buffer, lastModified = new Date(Math.floor(Date.now() / 1000) * 1000)): StagedObject {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const object = { bytes, lastModified, etag: createHash('md5').update(bytes).digest('hex') };
    this.objects.set(key, object);
    return object;
  }

  /** Snowpipe has run: every file asked for since is loaded into the landing table. */
  runPipes(): void {
    for (const { pipe, key } of this.pipeQueue.splice(0)) this.land(key, { force: true, pipe });
  }

  /** Forget the landing table's lines older than `before` (what compaction does after 65 days). */
  async purgeLanding(): Promise<void> {
    await this.run(null, 'delete from raw.landing_lines');
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const c = await this.instance.connect();
    try {
      return (await c.runAndReadAll(sql)).getRowObjectsJson() as T[];
    } finally {
      c.closeSync();
    }
  }

  async execute(ctx: QueryContext): Promise<Reply | undefined> {
    // what a statement is comes after its leading comments (migrate sends them along)
    const sql = stripComments(ctx.sql).trim().replace(/;\s*$/, '');
    try {
      await this.flushLines(); // what a pipe landed meanwhile is visible to the next statement
      if (/^create\s+or\s+replace\s+function\b/i.test(sql)) return this.createFunction(sql);
      if (/^create\s+stage\b/i.test(sql)) return this.createStage(sql);
      if (/^put\s/i.test(sql)) return this.putFile(sql);
      if (/^(list|ls)\s+'?@/i.test(sql)) return this.list(sql);
      if (/^desc(ribe)?\s+stage\s/i.test(sql)) return this.describeStage(sql);
      if (/^copy\s+into\s+\S+\.raw\.landing_lines\b/i.test(sql)) return this.copy(sql);
      if (/^insert\s+all\b/i.test(sql)) return await this.insertAll(ctx, sql);
      if (/information_schema\.copy_history/i.test(sql)) return this.history(ctx);
      if (/^alter\s+pipe\s+\S+\s+refresh\s+prefix\s*=/i.test(sql)) return this.refresh(sql);
      if (!/\braw\./i.test(sql)) return undefined; // not the ingest layer: the fake's default answer
      // objects DuckDB has no equivalent of, and grants: accepted (the conformance checks read them)
      if (/^(grant|create\s+(pipe|stage|file\s+format|schema)|alter\s+(pipe|stage|file\s+format))\b/i.test(sql)) return { ok: true };
      return await this.plain(ctx, sql);
    } catch (err) {
      const message = (err as Error).message;
      const nn = NOT_NULL.exec(message);
      if (nn) return { error: { code: '100072', sqlState: '22000', message: `NULL result in a non-nullable column (${nn[1]})` } };
      return { error: { code: '002003', sqlState: '42S02', message: `SQL compilation error: ${message}` } };
    }
  }

  async transactionEnded(sessionId: number, txn: number, outcome: 'committed' | 'rolled back'): Promise<void> {
    const s = this.sessions.get(sessionId);
    if (!s || s.txn !== txn) return;
    await s.connection.run(outcome === 'committed' ? 'commit' : 'rollback');
    s.txn = null;
  }

  /** The session's connection, inside its transaction when the client opened one. */
  private async connection(ctx: QueryContext | null): Promise<DuckDBConnection> {
    const id = ctx?.sessionId ?? -1;
    let s = this.sessions.get(id);
    if (!s) {
      s = { connection: await this.instance.connect(), txn: null };
      this.sessions.set(id, s);
    }
    if (ctx && ctx.txn !== null && s.txn !== ctx.txn) {
      if (s.txn !== null) await s.connection.run('rollback');
      await s.connection.run('begin transaction');
      s.txn = ctx.txn;
    }
    return s.connection;
  }

  private async run(ctx: QueryContext | null, sql: string, binds: unknown[] = []): Promise<Record<string, unknown>[]> {
    const c = await this.connection(ctx);
    const result = await c.runAndReadAll(sql, binds.length ? (binds as never) : undefined);
    return result.getRowObjectsJson() as Record<string, unknown>[];
  }

  /** Snowflake's names and types -> DuckDB's: the database prefix goes, types and a few functions map. */
  private translate(sql: string): string {
    const db = new RegExp(`\\b${this.database}\\.`, 'gi');
    return sql
      .replace(db, '')
      .replace(/\bcopy grants\b/gi, '')
      .replace(/\bcreate\s+transient\s+table\b/gi, 'create table')
      .replace(/\btimestamp_ntz\b/gi, 'timestamp')
      .replace(/\bnumber\((\d+),\s*(\d+)\)/gi, 'decimal($1, $2)')
      .replace(/default\s+sysdate\(\)/gi, 'default current_timestamp')
      .replace(/to_varchar\((.+?), 'YYYY-MM-DD HH24:MI:SS'\)/gi, "strftime($1, '%Y-%m-%d %H:%M:%S')");
  }

  private async plain(ctx: QueryContext, sql: string): Promise<Reply> {
    const text = this.translate(sql);
    const c = await this.connection(/^(create|alter|drop)\b/i.test(text) ? null : ctx);
    const reader = await c.runAndReadAll(text, ctx.binds.length ? (ctx.binds.map((b) => (typeof b === 'boolean' ? b : b)) as never) : undefined);
    if (/^(insert|delete|update|merge)\b/i.test(text)) {
      const kind = text.split(/\s/)[0]!.toLowerCase() as 'insert' | 'delete' | 'update' | 'merge';
      const rows = reader.getRowObjectsJson();
      const n = rows.length ? Number(Object.values(rows[0]!)[0]) : 0;
      return { updated: n, kind };
    }
    if (!/^(select|with)\b/i.test(text)) return { ok: true };
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const columns: ColumnSpec[] = names.map((n, i) => {
      const name = /^[a-z_][a-z0-9_$]*$/.test(n) ? n.toUpperCase() : n; // unquoted names come back upper case
      const t = String(types[i]);
      if (/^(BIGINT|INTEGER|HUGEINT|SMALLINT|TINYINT|UBIGINT)/.test(t)) return col.int(name);
      if (/^DECIMAL/.test(t)) return { name, type: 'fixed', scale: Number(/,\s*(\d+)/.exec(t)?.[1] ?? 0) };
      if (/^(DOUBLE|FLOAT)/.test(t)) return { name, type: 'real' };
      if (/^BOOLEAN/.test(t)) return { name, type: 'boolean' };
      if (/^TIMESTAMP/.test(t)) return { name, type: 'timestamp_ntz', scale: 3 };
      return col.text(name);
    });
    // DuckDB's JSON form of a timestamp has a 'T'; the wire form of the fake wants 'YYYY-MM-DD HH:MM:SS'
    const isTime = columns.map((c) => c.type === 'timestamp_ntz');
    const rows = reader.getRowsJson().map((r) => r.map((v, i) => (v !== null && isTime[i] && typeof v === 'string' ? v.replace('T', ' ') : v)));
    return { columns, rows };
  }

  private createFunction(sql: string): Reply {
    const m = /^create\s+or\s+replace\s+function\s+(\S+?)\s*\(([^)]*)\)\s+copy grants\s+returns\s+table\s*\(([^)]*)\)[\s\S]*?\$\$\n?([\s\S]*)\n?\$\$$/i.exec(sql);
    if (!m) return { ok: true }; // not a table function of the ingest path
    const pairs = (list: string) =>
      list
        .split(',')
        .map((p) => p.trim().split(/\s+/))
        .filter((p) => p.length >= 2)
        .map(([name, type]) => ({ name: name!, type: type!.toUpperCase() }));
    this.functions.set(m[1]!.toUpperCase().replace(`${this.database}.`, ''), { args: pairs(m[2]!), returns: pairs(m[3]!), body: m[4]! });
    return { ok: true };
  }

  /** What COPY reads from one object, or why it cannot. */
  private land(key: string, opts: { force?: boolean; pipe?: string | null } = {}): { key: string; status: string; parsed: number; loaded: number; firstError: string | null; line: number | null } | null {
    const object = this.objects.get(key);
    if (!object) return null;
    const metadataKey = `${opts.pipe ?? 'copy'}\u0000${key}\u0000${object.etag}`;
    if (!opts.force && this.loadMetadata.has(metadataKey)) return null; // skipped: loaded before
    let bytes = object.bytes;
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        bytes = gunzipSync(bytes);
      } catch (err) {
        this.loads.push({ key, status: 'Load failed', rows: 0, firstError: (err as Error).message, at: this.clock(), pipe: opts.pipe ?? null });
        return { key, status: 'LOAD_FAILED', parsed: 0, loaded: 0, firstError: `gzip: ${(err as Error).message}`, line: null };
      }
    }
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(10, start);
      if (nl === -1) {
        if (start < bytes.length) lines.push(bytes.subarray(start));
        break;
      }
      lines.push(bytes.subarray(start, nl));
      start = nl + 1;
    }
    const good: [string, number, string][] = [];
    let firstError: string | null = null;
    let firstLine: number | null = null;
    lines.forEach((l, i) => {
      if (!isUtf8(l)) {
        firstError ??= 'Invalid UTF8 detected in string';
        firstLine ??= i + 1;
        return;
      }
      good.push([key, i + 1, l.toString('utf8')]);
    });
    this.pendingLines.push(...good.map(([k, n, line]) => ({ key: k, n, line, lastModified: object.lastModified, contentKey: object.etag })));
    this.loadMetadata.add(metadataKey);
    const status = firstError ? 'PARTIALLY_LOADED' : 'LOADED';
    this.loads.push({ key, status: firstError ? 'Partially loaded' : 'Loaded', rows: good.length, firstError, at: this.clock(), pipe: opts.pipe ?? null });
    return { key, status, parsed: lines.length, loaded: good.length, firstError, line: firstLine };
  }

  private pendingLines: { key: string; n: number; line: string; lastModified: Date; contentKey: string }[] = [];

  private async flushLines(): Promise<void> {
    const rows = this.pendingLines.splice(0);
    if (rows.length === 0) return;
    const c = await this.instance.connect();
    try {
      for (let i = 0; i < rows.length; i += 500) {
        const part = rows.slice(i, i + 500);
        await c.run(
          `insert into raw.landing_lines (file_key, line_number, line, file_last_modified, file_content_key) values ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
          part.flatMap((r) => [r.key, r.n, r.line, r.lastModified.toISOString().replace('T', ' ').replace('Z', ''), r.contentKey]) as never,
        );
      }
    } finally {
      c.closeSync();
    }
  }

  private async copy(sql: string): Promise<Reply> {
    const files = /files\s*=\s*\(([^)]*)\)/i.exec(sql)?.[1] ?? '';
    const keys = [...files.matchAll(/'((?:[^'\\]|''|\\.)*)'/g)].map((m) => m[1]!.replace(/''/g, "'").replace(/\\\\/g, '\\'));
    const force = /\bforce\s*=\s*true\b/i.test(sql);
    const from = /\bfrom\s+@([A-Za-z0-9_$.]+)/i.exec(sql)?.[1];
    const stage = from ? this.stageOf(from) : undefined;
    if (stage?.name && !stage.known) return { error: { code: '002003', sqlState: '02000', message: `SQL compilation error:\nStage '${from}' does not exist or not authorized.` } };
    if (stage?.internal) this.readInternal(stage.name);
    const bare = stage?.name.split('.').pop()!.toLowerCase();
    const results = keys.map((k) => this.land(k, { force })).filter((r): r is NonNullable<typeof r> => r !== null);
    await this.flushLines();
    return {
      copy: results.map((r) => ({
        file: stage?.internal ? `${bare}/${r.key}` : `s3://${this.bucket}/${r.key}`,
        status: r.status as 'LOADED',
        rowsParsed: r.parsed,
        rowsLoaded: r.loaded,
        errorsSeen: r.parsed - r.loaded,
        firstError: r.firstError,
        firstErrorLine: r.line,
      })),
    };
  }

  // ---------------------------------------------------------------- internal stages, PUT, LIST

  /** A stage reference (db.schema.name, schema.name) -> its catalog name and kind. */
  private stageOf(ref: string): { name: string; known: boolean; internal: boolean } {
    const name = ref.toUpperCase().replace(new RegExp(`^${this.database}\\.`), '');
    const s = this.stages.get(name);
    // a stage migrate created before the engine was attached counts as the external landing stage
    return { name, known: Boolean(s) || /^RAW\.LANDING_STAGE$/.test(name), internal: Boolean(s?.internal) };
  }

  private createStage(sql: string): Reply {
    const m = /^create\s+(?:or\s+replace\s+)?stage\s+(?:if\s+not\s+exists\s+)?([A-Za-z0-9_$.]+)/i.exec(sql);
    if (!m) return { ok: true };
    const name = this.stageOf(m[1]!).name;
    if (this.stages.has(name) && /\bif\s+not\s+exists\b/i.test(sql)) return { ok: true, message: `${name} already exists, statement succeeded.` };
    const internal = !/\burl\s*=/i.test(sql);
    this.stageRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), 'fake-snowflake-stages-'));
    const dir = internal ? path.join(this.stageRoot, name) : undefined;
    if (dir) fs.mkdirSync(dir, { recursive: true });
    this.stages.set(name, { internal, ...(dir ? { dir } : {}) });
    return { ok: true, message: `Stage area ${name.split('.').pop()} successfully created.` };
  }

  /**
   * DESC STAGE: the stage's properties, one row each (parent_property, property, property_type,
   * property_value, property_default); here only STAGE_LOCATION's URL, which is empty for an internal
   * stage and the bucket URL as a list for an external one. https://docs.snowflake.com/en/sql-reference/sql/desc-stage
   */
  private describeStage(sql: string): Reply {
    const ref = /^desc(?:ribe)?\s+stage\s+([A-Za-z0-9_$."]+)/i.exec(sql)?.[1]?.replace(/"/g, '') ?? '';
    const stage = this.stageOf(ref);
    if (!stage.known) return { error: { code: '002003', sqlState: '02000', message: `SQL compilation error:\nStage '${ref}' does not exist or not authorized.` } };
    const url = stage.internal ? '' : `["s3://${this.bucket}/"]`;
    return {
      columns: [col.text('parent_property'), col.text('property'), col.text('property_type'), col.text('property_value'), col.text('property_default')],
      rows: [['STAGE_LOCATION', 'URL', 'String', url, '']],
    };
  }

  /** Remove the directories of the internal stages. */
  dispose(): void {
    if (this.stageRoot) fs.rmSync(this.stageRoot, { recursive: true, force: true });
    this.stageRoot = undefined;
  }

  private putFile(sql: string): Reply {
    const m = /^put\s+('(?:[^']|'')*'|\S+)\s+('(?:[^']|'')*'|\S+)([\s\S]*)$/i.exec(sql);
    const unquote = (v: string) => (v.startsWith("'") ? v.slice(1, -1).replace(/''/g, "'") : v);
    const refused = (message: string): Reply => ({ error: { code: '001003', sqlState: '42000', message } });
    if (!m) return refused('SQL compilation error: PUT file://<absolute_path_to_file>/<filename> internalStage');
    const uri = unquote(m[1]!);
    const target = unquote(m[2]!);
    if (!/^file:\/\//i.test(uri)) return refused(`SQL compilation error: the source of PUT must be a file:// URI, got ${uri}`);
    const file = uri.replace(/^file:\/\//i, '');
    if (!path.isAbsolute(file)) return refused(`SQL compilation error: PUT needs an absolute path (file://<absolute_path_to_file>/<filename>), got ${uri}`);
    const t = /^@([A-Za-z0-9_$.]+)(?:\/(.*))?$/.exec(target);
    if (!t) return refused(`SQL compilation error: not a stage: ${target}`);
    const stage = this.stageOf(t[1]!);
    if (!stage.known) return { error: { code: '002003', sqlState: '02000', message: `SQL compilation error:\nStage '${t[1]}' does not exist or not authorized.` } };
    if (!stage.internal) return refused(`PUT does not support uploading files onto an external stage (${t[1]}): https://docs.snowflake.com/en/sql-reference/sql/put`);
    const options = Object.fromEntries([...m[3]!.matchAll(/(\w+)\s*=\s*('(?:[^']|'')*'|\S+)/g)].map((o) => [o[1]!.toUpperCase(), unquote(o[2]!).toUpperCase()]));
    const known = ['PARALLEL', 'AUTO_COMPRESS', 'SOURCE_COMPRESSION', 'OVERWRITE'];
    const unknown = Object.keys(options).filter((k) => !known.includes(k));
    if (unknown.length > 0) return refused(`SQL compilation error: invalid PUT option ${unknown.join(', ')}`);
    const folder = (t[2] ?? '').replace(/^\/+|\/+$/g, '');
    return {
      upload: {
        src_locations: [file],
        location: path.join(this.stages.get(stage.name)!.dir!, ...folder.split('/').filter(Boolean)),
        autoCompress: (options.AUTO_COMPRESS ?? 'TRUE') === 'TRUE',
        sourceCompression: (options.SOURCE_COMPRESSION ?? 'AUTO_DETECT').toLowerCase(),
        parallel: Number(options.PARALLEL ?? 4),
        overwrite: (options.OVERWRITE ?? 'FALSE') === 'TRUE',
      },
    };
  }

  /** Every file of an internal stage's directory, relative path with '/'. */
  private stageFiles(name: string): { key: string; file: string }[] {
    const dir = this.stages.get(name)?.dir;
    if (!dir || !fs.existsSync(dir)) return [];
    const out: { key: string; file: string }[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else out.push({ key: path.relative(dir, full).split(path.sep).join('/'), file: full });
      }
    };
    walk(dir);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** What PUT left in an internal stage becomes the objects COPY reads (last-modified: whole seconds). */
  private readInternal(name: string): void {
    for (const { key, file } of this.stageFiles(name)) {
      const st = fs.statSync(file);
      const at = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
      const known = this.objects.get(key);
      if (known && known.lastModified.getTime() === at.getTime() && known.bytes.length === st.size) continue;
      this.put(key, fs.readFileSync(file), at);
    }
  }

  private list(sql: string): Reply {
    const m = /^(?:list|ls)\s+'?@([A-Za-z0-9_$.]+)(?:\/([^'\s]*))?'?(?:\s+pattern\s*=\s*'((?:[^']|'')*)')?$/i.exec(sql);
    if (!m) return { error: { code: '001003', sqlState: '42000', message: 'SQL compilation error: LIST { internalStage | externalStage } [ PATTERN = \'<regex_pattern>\' ]' } };
    const stage = this.stageOf(m[1]!);
    if (!stage.known) return { error: { code: '002003', sqlState: '02000', message: `SQL compilation error:\nStage '${m[1]}' does not exist or not authorized.` } };
    const prefix = m[2] ?? '';
    const pattern = m[3] ? new RegExp(`^(?:${m[3].replace(/''/g, "'")})$`) : undefined;
    const bare = stage.name.split('.').pop()!.toLowerCase();
    if (stage.internal) this.readInternal(stage.name);
    const rows = (stage.internal ? this.stageFiles(stage.name).map((f) => f.key) : [...this.objects.keys()].sort())
      .filter((k) => k.startsWith(prefix))
      .map((k) => ({ k, o: this.objects.get(k)! }))
      .map(({ k, o }) => [stage.internal ? `${bare}/${k}` : `s3://${this.bucket}/${k}`, o.bytes.length, o.etag, o.lastModified.toUTCString()])
      .filter((r) => !pattern || pattern.test(String(r[0])));
    return { columns: [col.text('name'), col.int('size'), col.text('md5'), col.text('last_modified')], rows };
  }

  private refresh(sql: string): Reply {
    const m = /^alter\s+pipe\s+(\S+)\s+refresh\s+prefix\s*=\s*'((?:[^']|'')*)'/i.exec(sql)!;
    this.pipeQueue.push({ pipe: m[1]!, key: m[2]!.replace(/''/g, "'") });
    return { columns: [col.text('File'), col.text('Status')], rows: [[m[2], 'SENT']] };
  }

  private async history(ctx: QueryContext): Promise<Reply> {
    await this.flushLines();
    const wanted = new Set(ctx.binds.map(String));
    const rows = this.loads
      .filter((l) => wanted.has(l.key) || wanted.has(`s3://${this.bucket}/${l.key}`))
      .map((l) => [l.key, l.status, l.rows, l.firstError, l.at.toISOString().slice(0, 19).replace('T', ' ')]);
    return { columns: [col.text('FILE_NAME'), col.text('STATUS'), col.int('ROW_COUNT'), col.text('FIRST_ERROR_MESSAGE'), col.text('LAST_LOAD_TIME')], rows };
  }

  /**
   * The ingest path's INSERT ALL: its subquery joins landed lines to the batch's files and calls the
   * dataset's table function over them; each output row goes to the INTO clauses whose WHEN holds.
   */
  private async insertAll(ctx: QueryContext, sql: string): Promise<Reply> {
    await this.flushLines();
    const intos = [...sql.matchAll(/when _out_table = (-?\d+) then into (\S+)\s*\(([^)]*)\)\s*values \(([^)]*)\)/gi)].map((m) => ({
      out: Number(m[1]),
      table: this.translate(m[2]!),
      columns: m[3]!.split(',').map((s) => s.trim()),
      values: m[4]!.split(',').map((s) => s.trim()),
    }));
    const selectList = /\nselect ([\s\S]*?)\n {2}from \(select l\.line/i.exec(sql)?.[1];
    const fn = /table\((\S+)\(f\.line, f\.line_number::double\)/i.exec(sql)?.[1];
    if (!selectList || !fn || intos.length === 0) throw new Error('fake engine: not the ingest path INSERT ALL');
    const items = selectList.split(/,\n\s+/).flatMap((line) => line.split(/,\s(?=f\.|\?|r\.)/));
    const select = items.map((item) => {
      const m = /^(.*)\s+as\s+(\w+)$/i.exec(item.trim());
      if (m) return { expr: m[1]!.trim(), alias: m[2]!.toLowerCase() };
      const bare = item.trim();
      return { expr: bare, alias: bare.replace(/^\w+\./, '').toLowerCase() };
    });
    const binds = ctx.binds;
    const files: { _file_key: unknown; _load_id: unknown; lm: unknown }[] = [];
    for (let i = 2; i + 3 <= binds.length; i += 3) files.push({ _file_key: binds[i], _load_id: binds[i + 1], lm: binds[i + 2] });
    const f = this.functions.get(fn.toUpperCase().replace(`${this.database}.`, ''));
    if (!f) throw new Error(`Unknown function ${fn}`);
    const input: Record<string, unknown>[] = [];
    for (const file of files) {
      const lines = await this.run(
        null,
        `select line, line_number from raw.landing_lines where file_key = ? and strftime(date_trunc('second', file_last_modified), '%Y-%m-%d %H:%M:%S') = ?
          qualify row_number() over (partition by line_number order by copied_at) = 1 order by line_number`,
        [file._file_key, file.lm],
      );
      for (const l of lines) input.push({ LINE: l.line, LINE_NUMBER: Number(l.line_number), _LOAD_ID: file._load_id });
    }
    this.udtfRows.set(fn.toLowerCase(), (this.udtfRows.get(fn.toLowerCase()) ?? 0) + input.length);
    const { rows } = runJavascriptUdtf(f.body, {
      args: f.args,
      returns: f.returns,
      input,
      call: (r) => [r.LINE, r.LINE_NUMBER],
      partitionBy: ['_LOAD_ID'],
      orderBy: (a, b) => (a.LINE_NUMBER as number) - (b.LINE_NUMBER as number),
    });
    let inserted = 0;
    const c = await this.connection(ctx);
    for (const row of rows) {
      const values: Record<string, unknown> = {};
      for (const s of select) values[s.alias] = this.evaluate(s.expr, row.input, row.output, binds);
      for (const into of intos) {
        if (values._out_table !== into.out) continue;
        const vals = into.values.map((v) => values[v.toLowerCase()] ?? null);
        await c.run(`insert into ${into.table} (${into.columns.join(', ')}) values (${vals.map(() => '?').join(', ')})`, vals as never);
        inserted++;
      }
    }
    return { updated: inserted, kind: 'insert' };
  }

  /** The expressions appendSql writes in its select list, with Snowflake's cast semantics. */
  private evaluate(expr: string, input: Record<string, unknown>, output: Record<string, unknown>, binds: unknown[]): unknown {
    const ref = (name: string) => {
      const [alias, column] = name.split('.') as [string, string];
      const source = alias === 'f' ? input : output;
      const v = source[column.toUpperCase()];
      return v === undefined ? null : v;
    };
    const cast = (v: unknown, type: string): unknown => {
      if (v === null || v === undefined) return null;
      const t = type.toLowerCase();
      if (t === 'integer') return Math.round(Number(v));
      if (t.startsWith('number') || t.startsWith('decimal')) {
        const scale = Number(/,\s*(\d+)/.exec(t)?.[1] ?? 0);
        return Number(Number(v).toFixed(scale));
      }
      if (t === 'varchar') return String(v);
      return v;
    };
    let m: RegExpExecArray | null;
    if (expr === '?::varchar') return binds[0];
    if (expr === '?::timestamp_ntz') return binds[1];
    if ((m = /^(\w+\.\w+) = (\d+)$/.exec(expr))) return ref(m[1]!) === null ? null : Number(ref(m[1]!)) === Number(m[2]);
    if ((m = /^(\w+\.\w+) \|\| ':' \|\| (\w+\.\w+)::integer$/.exec(expr))) {
      const a = ref(m[1]!);
      const b = ref(m[2]!);
      return a === null || b === null ? null : `${String(a)}:${Math.round(Number(b))}`;
    }
    if ((m = /^(\w+\.\w+)::(.+)$/.exec(expr))) return cast(ref(m[1]!), m[2]!);
    if ((m = /^(\w+\.\w+)$/.exec(expr))) return ref(m[1]!);
    throw new Error(`fake engine: cannot evaluate ${expr}`);
  }
}
