/**
 * DuckDB adapter (`@duckdb/node-api`): the embedded default warehouse, a file under `.local/`.
 *
 * One DuckDB instance per file per process (DuckDB allows one writing process per file); each
 * statement runs on its own short-lived connection, and `transaction()` pins one connection for
 * BEGIN ... COMMIT. Extensions are never downloaded: json, parquet and icu are built in.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { classifyError, ConfigError } from '../errors';
import { defaultRegistry } from '../datasets';
import { ingestSchemaStatements } from '../ingest/schema';
import { sqlRoot } from '../paths';
import { duckdbDialect } from './dialect';
import { duckdbFindTablesSql, groupTables } from './duckdb-catalog';
import {
  decimalText,
  onlyTable,
  type ColumnInfo,
  type Param,
  type Row,
  type Scalar,
  type StreamOptions,
  type TableDescription,
  type TableRef,
  type Warehouse,
} from './port';

const NUMERIC_AS_STRING = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.DECIMAL,
]);

const instances = new Map<string, Promise<DuckDBInstance>>();

/**
 * Idle connections per file, reused: opening and closing a connection for every statement cost more
 * than some statements (measured in bench ingest: closeSync was a tenth of ingest's CPU time).
 */
const idle = new Map<string, DuckDBConnection[]>();
const MAX_IDLE = 8;

/** The schemas; with the ingest layer of shared/ingest/schema.ts, applied whenever a file is opened. */
export const duckdbSchemaFile = (): string => path.join(sqlRoot(), 'duckdb', 'schema.sql');

async function openInstance(file: string): Promise<DuckDBInstance> {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    const instance = await DuckDBInstance.create(file, {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'true',
      // Ingest commits once per SQS batch; at the default 16 MB of WAL DuckDB checkpoints every few
      // batches and that rewrite doubled the load time (measured in bench ingest). The WAL is replayed
      // on the next open after a crash, so durability is unchanged.
      // https://duckdb.org/docs/stable/configuration/overview#configuration-reference
      checkpoint_threshold: '1GB',
    });
    const connection = await instance.connect();
    try {
      await connection.run(fs.readFileSync(duckdbSchemaFile(), 'utf8'));
      // a file from before the ingest layer was append-only has tables where views now go
      const legacy = await connection.runAndReadAll(
        `select 1 from information_schema.tables where table_schema = 'raw' and table_name = 'ingest_lock'`,
      );
      if (legacy.currentRowCount > 0) {
        throw new ConfigError(
          `${file} was created by an earlier version of shopping-patterns (raw tables, not the append-only ingest layer): ` +
            'move it aside or delete it, then reload the landing bucket (npm start catches up, or npm run replay)',
        );
      }
      for (const sql of ingestSchemaStatements(duckdbDialect, defaultRegistry)) await connection.run(sql);
    } finally {
      connection.closeSync();
    }
    return instance;
  } catch (err) {
    instances.delete(file);
    throw classifyError(err);
  }
}

function toParams(params: readonly Param[] | undefined): DuckDBValue[] | undefined {
  if (!params || params.length === 0) return undefined;
  return params.map((p) => (p instanceof Date ? p.toISOString().replace('T', ' ').replace('Z', '') : p));
}

/** JSON-friendly rows; big integers and decimals become numbers where exactly representable enough. */
function readRows(reader: DuckDBResultReader): Row[] {
  const types = reader.columnTypes();
  const names = reader.deduplicatedColumnNames();
  const rows = reader.getRowsJson();
  return rows.map((values) => {
    const row: Row = {};
    values.forEach((v, i) => {
      const name = names[i] as string;
      const typeId = types[i]?.typeId;
      row[name] = normalise(v, typeId);
    });
    return row;
  });
}

function normalise(v: unknown, typeId: DuckDBTypeId | undefined): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' && typeId !== undefined && NUMERIC_AS_STRING.has(typeId)) {
    const n = Number(v);
    return typeId === DuckDBTypeId.DECIMAL || Number.isSafeInteger(n) ? n : v;
  }
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

/**
 * Per-column readers for streamed results: the same values `normalise(JsonDuckDBValueConverter(v))`
 * gives, without the per-value converter dispatch, and with the text of dates and timestamps cached
 * (a result repeats few distinct ones: months, days). Streams of millions of rows (the transfer)
 * spent more time in that conversion than DuckDB spent on the query. Types without a fast path go
 * through the library's converter, so every value has exactly one meaning.
 */
type ColumnReader = (v: DuckDBValue) => Scalar;

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const CACHE_LIMIT = 100_000;

function cachedText(key: (v: DuckDBValue) => number | bigint): ColumnReader {
  const cache = new Map<number | bigint, string>();
  return (v) => {
    if (v === null) return null;
    const k = key(v);
    let text = cache.get(k);
    if (text === undefined) {
      if (cache.size >= CACHE_LIMIT) cache.clear();
      text = String(v);
      cache.set(k, text);
    }
    return text;
  };
}

/**
 * `exactNumbers` (see StreamOptions): decimals with a scale or wider than 15 digits, and the 64- and
 * 128-bit integers, as their exact text whatever the value; everything else as columnReader gives it.
 */
function exactReader(type: DuckDBType): ColumnReader | undefined {
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return (v) => (v === null ? null : String(v as bigint));
    case DuckDBTypeId.DECIMAL: {
      const { width, scale } = type as unknown as { width: number; scale: number };
      if (scale === 0 && width <= 15) return undefined;
      return (v) => {
        if (v === null) return null;
        const d = v as { value: bigint | number; scale: number };
        return decimalText(BigInt(d.value), d.scale);
      };
    }
    default:
      return undefined;
  }
}

function columnReader(type: DuckDBType, options: StreamOptions = {}): ColumnReader {
  const exact = options.exactNumbers ? exactReader(type) : undefined;
  if (exact) return exact;
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return (v) => v as Scalar;
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      // JSON has no NaN or Infinity: the library's converter writes them as text
      return (v) => (v === null ? null : Number.isFinite(v) ? (v as number) : String(v));
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return (v) =>
        v === null ? null : (v as bigint) >= MIN_SAFE && (v as bigint) <= MAX_SAFE ? Number(v) : String(v);
    case DuckDBTypeId.DECIMAL:
      // the nearest double to the exact value, as Number(text) gives: when the unscaled integer and
      // 10^scale are both exact doubles, IEEE division rounds the exact quotient correctly too
      return (v) => {
        if (v === null) return null;
        const { value, scale } = v as { value: bigint; scale: number };
        return value >= MIN_SAFE && value <= MAX_SAFE && scale <= 22
          ? Number(value) / 10 ** scale
          : Number(String(v));
      };
    case DuckDBTypeId.DATE:
      return cachedText((v) => (v as { days: number }).days);
    case DuckDBTypeId.TIMESTAMP:
      return cachedText((v) => (v as { micros: bigint }).micros);
    default:
      return (v) => normalise(JsonDuckDBValueConverter(v, type, JsonDuckDBValueConverter), type.typeId);
  }
}

export class DuckDbWarehouse implements Warehouse {
  readonly engine = 'duckdb' as const;
  readonly dialect = duckdbDialect;
  private pinned: DuckDBConnection | undefined;

  constructor(
    readonly file: string,
    pinned?: DuckDBConnection,
  ) {
    this.pinned = pinned;
  }

  private instance(): Promise<DuckDBInstance> {
    let p = instances.get(this.file);
    if (!p) {
      p = openInstance(this.file);
      instances.set(this.file, p);
    }
    return p;
  }

  /** The raw DuckDB connection, for DuckDB-only fast paths (appenders, COPY). */
  async withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.pinned) return fn(this.pinned);
    const instance = await this.instance();
    const pool = idle.get(this.file) ?? [];
    idle.set(this.file, pool);
    const connection = pool.pop() ?? (await instance.connect());
    let reusable = true;
    try {
      return await fn(connection);
    } catch (err) {
      // a failed statement may leave the connection inside a transaction: not handed to the next caller
      reusable = false;
      throw err;
    } finally {
      if (reusable && pool.length < MAX_IDLE && instances.has(this.file)) pool.push(connection);
      else connection.closeSync();
    }
  }

  async query<T extends Row = Row>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.run(async (c) => readRows(await c.runAndReadAll(sql, toParams(params))) as T[]);
  }

  async execute(sql: string, params?: readonly Param[]): Promise<number> {
    return this.run(async (c) => (await c.run(sql, toParams(params))).rowsChanged);
  }

  async executeScript(sql: string): Promise<void> {
    await this.run(async (c) => {
      const statements = await c.extractStatements(sql);
      for (let i = 0; i < statements.count; i++) {
        const prepared = await statements.prepare(i);
        await prepared.run();
      }
    });
  }

  async *stream(sql: string, params?: readonly Param[], options: StreamOptions = {}): AsyncIterable<Row[]> {
    const pinned = this.pinned;
    const connection = pinned ?? (await (await this.instance()).connect());
    try {
      let result;
      try {
        result = await connection.stream(sql, toParams(params));
      } catch (err) {
        throw classifyError(err);
      }
      const names = result.deduplicatedColumnNames();
      const readers = result.columnTypes().map((t) => columnReader(t, options));
      for (let chunk = await result.fetchChunk(); chunk; chunk = await result.fetchChunk()) {
        const count = chunk.rowCount;
        if (count === 0) break;
        const columns = chunk.getColumns().map((values, c) => values.map(readers[c]!));
        const rows: Row[] = new Array<Row>(count);
        for (let r = 0; r < count; r++) {
          const row: Row = {};
          for (let c = 0; c < names.length; c++) row[names[c]!] = columns[c]![r]!;
          rows[r] = row;
        }
        yield rows;
      }
    } finally {
      if (!pinned) connection.closeSync();
    }
  }

  async transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T> {
    if (this.pinned) return fn(this); // nested: join the open transaction
    return this.run(async (c) => {
      await c.run('BEGIN TRANSACTION');
      try {
        const result = await fn(new DuckDbWarehouse(this.file, c));
        await c.run('COMMIT');
        return result;
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async describeTable(table: TableRef): Promise<ColumnInfo[]> {
    return onlyTable(await this.findTables(table), table);
  }

  async findTables(table: TableRef): Promise<TableDescription[]> {
    const { sql, params } = duckdbFindTablesSql(table);
    return groupTables(await this.query(sql, params));
  }

  async close(): Promise<void> {
    if (this.pinned) return;
    for (const c of idle.get(this.file) ?? []) c.closeSync();
    idle.delete(this.file);
    const p = instances.get(this.file);
    instances.delete(this.file);
    if (p) (await p.catch(() => undefined))?.closeSync();
  }

  private async run<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    try {
      return await this.withConnection(fn);
    } catch (err) {
      throw classifyError(err);
    }
  }
}
