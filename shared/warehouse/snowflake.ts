/**
 * Snowflake adapter (`snowflake-sdk`), used in the AWS stages.
 *
 * - Key-pair (JWT) authentication; the key comes from Secrets Manager (shared/secrets.ts). When the
 *   service rejects the key (a rotation happened), the secret is fetched again once and the login
 *   retried. https://docs.snowflake.com/en/developer-guide/node-js/nodejs-driver-authenticate
 * - One connection per adapter, created on first use and reused across warm Lambda invocations;
 *   a dead session (expired, deleted, network gone) is replaced on the next statement.
 * - Statements run one at a time on that connection (a mutex): Snowflake transactions belong to the
 *   session, so a statement from elsewhere must never slip into someone's BEGIN ... COMMIT.
 * - Values come back in the port's shapes (see ./port.ts): numbers as numbers (integers beyond 2^53 as
 *   strings; with `exactNumbers`, fixed-point and wide integer columns as their exact text, which the
 *   driver hands over untouched because NUMBER is fetched as a string), TIMESTAMP_NTZ as
 *   'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC session), unquoted (upper-case) column names of results in
 *   lower case, as SQLAlchemy's Snowflake dialect does, so portable code reads `row.customer_id` on
 *   both engines. `describeTable` reports names exactly as the catalog has them.
 *   https://docs.snowflake.com/en/developer-guide/node-js/nodejs-driver-consume#fetching-data-types-as-strings
 * - Large results stream (`streamResult: true` + `statement.streamRows()`), never buffered whole.
 *   https://docs.snowflake.com/en/developer-guide/node-js/nodejs-driver-consume
 * - The driver logs through the project's logger, never to snowflake.log or the console.
 * - Every statement has a deadline: the driver retries network failures for a very long time on
 *   its own (up to 1000 attempts), which in a Lambda would eat the whole invocation. Past the
 *   deadline the statement fails as transient, the connection is abandoned and the next statement
 *   logs in again. The same limit is set server-side (STATEMENT_TIMEOUT_IN_SECONDS, and LOCK_TIMEOUT,
 *   whose default of 12 hours would otherwise keep a writer waiting on a row lock).
 *
 * `snowflake-sdk` is loaded lazily and only after SNOWFLAKE_DISABLE_PLATFORM_DETECTION is set: on
 * load it otherwise probes cloud metadata addresses.
 */
import type * as Sdk from 'snowflake-sdk';
import type { Config } from '../config';
import { ConfigError, TransientError, classifyError, errorMessage } from '../errors';
import { logger as rootLogger, type Logger } from '../logger';
import { getSnowflakeCredentials, type SnowflakeCredentials } from '../secrets';
import { quoteIdent } from './identifiers';
import { groupTables } from './duckdb-catalog';
import {
  fixedScaleText,
  onlyTable,
  resultName,
  type ColumnInfo,
  type Param,
  type Row,
  type Scalar,
  type StreamOptions,
  type TableDescription,
  type TableRef,
  type Warehouse,
} from './port';
import { splitStatements } from './split-statements';
import { snowflakeDialect } from './dialect';

export type SnowflakeConfig = Extract<Config['warehouse'], { engine: 'snowflake' }>;

export interface SnowflakeWarehouseOptions {
  /** Where the key pair comes from; `refresh` asks for a fresh copy after an authentication failure. */
  credentials?: (opts: { refresh: boolean }) => Promise<SnowflakeCredentials>;
  /** Per-statement deadline (client and server side). Default SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS, else 600 s. */
  statementTimeoutMs?: number;
  /** Rows per batch yielded by `stream()`. Default 5000. */
  streamBatchRows?: number;
  /** Extra driver connection options (tests tune retries here). */
  connectionOptions?: Partial<Sdk.ConnectionOptions>;
  logger?: Logger;
}

/**
 * Server error codes that mean the login was refused for the key or user: refresh the secret and
 * try once more. 390144: JWT token is invalid; 390100: incorrect username or password.
 * https://docs.snowflake.com/en/user-guide/key-pair-auth-troubleshooting
 */
const AUTH_FAILURE_CODES = new Set(['390100', '390144']);

/**
 * Codes that say the session is gone, so the statement never ran: reconnect and run it again.
 * 390111 session no longer exists, 390114 master token expired, 390104 invalid session token;
 * driver 407002/405503 connection is in a disconnected state, 401004 invalid token response.
 */
const SESSION_GONE_CODES = new Set<string | number>(['390111', '390114', '390104', 407002, 405503, 401004]);

const TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF6';

let sdk: typeof Sdk | undefined;

/** Load the driver once, with platform probing off and its logging routed to ours. */
export function loadSnowflakeSdk(log: Logger = rootLogger): typeof Sdk {
  if (sdk) return sdk;
  process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION ??= 'true';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require('snowflake-sdk') as typeof Sdk;
  const driverLog = log.child({ component: 'snowflake-sdk' });
  const level = (process.env.LOG_LEVEL ?? 'info').toLowerCase() === 'debug' ? 'DEBUG' : 'WARN';
  loaded.configure({
    logLevel: level,
    additionalLogToConsole: false,
    // https://docs.snowflake.com/en/developer-guide/node-js/nodejs-driver-logs
    customLogger: {
      // the adapter reports what matters with context; driver errors are its view of the same event
      error: (m) => driverLog.warn(m),
      warn: (m) => driverLog.warn(m),
      info: (m) => driverLog.debug(m),
      debug: (m) => driverLog.debug(m),
      trace: (m) => driverLog.debug(m),
    },
  });
  sdk = loaded;
  return loaded;
}

/** A minimal promise mutex: statements on one session run strictly one after another. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    return release;
  }
}

interface Executed {
  statement: Sdk.RowStatement;
  rows: unknown[][] | undefined;
}

export class SnowflakeWarehouse implements Warehouse {
  readonly engine = 'snowflake' as const;
  readonly dialect = snowflakeDialect;
  private readonly log: Logger;
  readonly database: string;
  private readonly mutex = new Mutex();
  private connection: Promise<Sdk.Connection> | undefined;
  private readonly statementTimeoutMs: number;
  private readonly streamBatchRows: number;

  constructor(
    private readonly cfg: SnowflakeConfig,
    private readonly options: SnowflakeWarehouseOptions = {},
  ) {
    this.log = (options.logger ?? rootLogger).child({ warehouse: 'snowflake' });
    this.database = cfg.database;
    this.statementTimeoutMs = options.statementTimeoutMs ?? (cfg.statementTimeoutSeconds ?? 600) * 1000;
    this.streamBatchRows = options.streamBatchRows ?? 5000;
  }

  // ------------------------------------------------------------------ port

  async query<T extends Row = Row>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.locked(async () => {
      const { statement, rows } = await this.run(sql, params, false);
      return toRows(statement, rows ?? []) as T[];
    });
  }

  async execute(sql: string, params?: readonly Param[]): Promise<number> {
    return this.locked(async () => {
      const { statement } = await this.run(sql, params, false);
      return Math.max(0, statement.getNumUpdatedRows() ?? 0);
    });
  }

  async executeScript(script: string): Promise<void> {
    const statements = splitStatements(script);
    await this.locked(async () => {
      for (const sql of statements) await this.run(sql, undefined, false);
    });
  }

  async *stream(sql: string, params?: readonly Param[], options: StreamOptions = {}): AsyncIterable<Row[]> {
    // the lock covers execution only: once the result exists, its chunks are fetched by URL and
    // another statement may use the session
    const { statement } = await this.locked(() => this.run(sql, params, true));
    const names = columnNames(statement);
    const convert = converters(statement, options);
    const rows = statement.streamRows({ fetchAsString: FETCH_AS_STRING });
    let batch: Row[] = [];
    try {
      for await (const values of rows as AsyncIterable<unknown[]>) {
        batch.push(toRow(names, convert, values));
        if (batch.length >= this.streamBatchRows) {
          yield batch;
          batch = [];
        }
      }
    } catch (err) {
      throw classifyError(err);
    } finally {
      rows.destroy();
    }
    if (batch.length > 0) yield batch;
  }

  async transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T> {
    return this.locked(async () => {
      // the transaction lives in this session: every statement of it goes to this connection only
      const c = await this.connect();
      const tx = new SnowflakeTransaction(this, c);
      await this.run('BEGIN', undefined, false, c);
      try {
        const result = await fn(tx);
        await this.run('COMMIT', undefined, false, c);
        return result;
      } catch (err) {
        await this.run('ROLLBACK', undefined, false, c).catch((e) => {
          // a session that cannot roll back is not trusted again; Snowflake rolls back on session end
          this.log.warn('rollback failed; abandoning the session', { error: errorMessage(e) });
          this.abandon(c);
        });
        throw classifyError(err);
      } finally {
        tx.closed = true;
      }
    });
  }

  async describeTable(table: TableRef): Promise<ColumnInfo[]> {
    return onlyTable(await this.findTables(table), table);
  }

  findTables(table: TableRef): Promise<TableDescription[]> {
    return findTables(this, this.cfg.database, table);
  }

  async close(): Promise<void> {
    const pending = this.connection;
    this.connection = undefined;
    const c = await pending?.catch(() => undefined);
    if (c) await destroy(c);
  }

  // ------------------------------------------------------------------ internals (also used by SnowflakeTransaction)

  /** Hold the session for `fn`; errors leave as PipelineErrors. */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.mutex.lock();
    try {
      return await fn();
    } catch (err) {
      throw classifyError(err);
    } finally {
      release();
    }
  }

  /**
   * Run one statement (the caller holds the lock). A statement refused because the session is gone
   * never ran, so it is retried once on a new session. Inside a transaction (`pinned`) there is no
   * such retry: the transaction died with its session and the caller must start it again.
   */
  async run(sql: string, params: readonly Param[] | undefined, stream: boolean, pinned?: Sdk.Connection): Promise<Executed> {
    if (pinned) {
      try {
        return await this.send(pinned, sql, params, stream);
      } catch (err) {
        if (!isSessionGone(err)) throw err;
        this.abandon(pinned);
        throw new TransientError(`Snowflake session ended inside a transaction: ${errorMessage(err)}`, { cause: err });
      }
    }
    const c = await this.connect();
    try {
      return await this.send(c, sql, params, stream);
    } catch (err) {
      if (!isSessionGone(err)) throw err;
      this.abandon(c);
      this.log.info('Snowflake session ended; logging in again', { code: codeOf(err) });
      return this.send(await this.connect(), sql, params, stream);
    }
  }

  private send(c: Sdk.Connection, sql: string, params: readonly Param[] | undefined, stream: boolean): Promise<Executed> {
    return new Promise<Executed>((resolve, reject) => {
      let settled = false;
      let statement: Sdk.RowStatement | undefined;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(
          new TransientError(`Snowflake statement did not finish within ${Math.round(this.statementTimeoutMs / 1000)} s: ${excerpt(sql)}`),
        );
        // the driver may still be retrying this request: give up the session so nothing else waits on it
        try {
          statement?.cancel(() => undefined);
        } catch {
          /* best effort */
        }
        this.abandon(c);
      }, this.statementTimeoutMs);
      try {
        statement = c.execute({
          sqlText: sql,
          binds: toBinds(params),
          rowMode: 'array',
          fetchAsString: FETCH_AS_STRING,
          streamResult: stream,
          complete: (err, stmt, rows) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (err) reject(err);
            else resolve({ statement: stmt as Sdk.RowStatement, rows: rows as unknown[][] | undefined });
          },
        }) as Sdk.RowStatement;
      } catch (err) {
        settled = true;
        clearTimeout(timer);
        reject(err);
      }
    });
  }

  /** The live connection, logging in (again) when there is none or it went down. */
  private async connect(): Promise<Sdk.Connection> {
    if (this.connection) {
      const existing = await this.connection.catch(() => undefined);
      if (existing?.isUp()) return existing;
      this.connection = undefined;
    }
    const pending = this.login();
    this.connection = pending;
    pending.catch(() => {
      if (this.connection === pending) this.connection = undefined;
    });
    return pending;
  }

  private async login(): Promise<Sdk.Connection> {
    try {
      return await this.loginOnce(false);
    } catch (err) {
      if (!isAuthFailure(err)) throw err;
      // the key may have been rotated since this process read the secret: read it again, once
      this.log.warn('Snowflake refused the key pair; fetching the secret again', { code: (err as { code?: unknown }).code });
      return this.loginOnce(true);
    }
  }

  private async loginOnce(refresh: boolean): Promise<Sdk.Connection> {
    const creds = await (this.options.credentials ?? ((o) => getSnowflakeCredentials(this.cfg.secretArn || undefined, o)))({ refresh });
    const account = this.cfg.account ?? creds.account;
    const user = this.cfg.user ?? creds.user;
    if (!account || !user) {
      throw new ConfigError('Snowflake account and user are required: set SNOWFLAKE_ACCOUNT / SNOWFLAKE_USER or put them in the secret');
    }
    const snowflake = loadSnowflakeSdk(this.log);
    const connection = snowflake.createConnection({
      account,
      username: user,
      role: this.cfg.role ?? creds.role,
      warehouse: this.cfg.computeWarehouse ?? creds.warehouse,
      database: this.cfg.database,
      authenticator: 'SNOWFLAKE_JWT',
      privateKey: creds.privateKey,
      ...(creds.privateKeyPassphrase ? { privateKeyPass: creds.privateKeyPassphrase } : {}),
      // tests and private endpoints: a full URL; http URLs use a plain agent (no OCSP/CRL checks)
      ...(this.cfg.accessUrl ? { accessUrl: this.cfg.accessUrl } : {}),
      application: 'shopping-patterns',
      clientSessionKeepAlive: false,
      sfRetryMaxLoginRetries: 3,
      // NULL stays null with fetchAsString (the default renders it as the text 'NULL')
      representNullAsStringNull: false,
      // integers are read as their exact text (no precision-loss warnings); toRow makes numbers of them
      jsTreatIntegerAsBigInt: true,
      ...this.options.connectionOptions,
    });
    await new Promise<void>((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve())));
    // one ALTER SESSION fixes the value shapes for everything that follows
    // https://docs.snowflake.com/en/sql-reference/parameters
    const seconds = Math.max(1, Math.ceil(this.statementTimeoutMs / 1000));
    try {
      await this.send(
        connection,
        `alter session set timezone = 'UTC', timestamp_type_mapping = 'TIMESTAMP_NTZ',
           timestamp_ntz_output_format = '${TIMESTAMP_FORMAT}', timestamp_ltz_output_format = '${TIMESTAMP_FORMAT}',
           timestamp_tz_output_format = '${TIMESTAMP_FORMAT}', timestamp_output_format = '${TIMESTAMP_FORMAT}',
           date_output_format = 'YYYY-MM-DD', binary_output_format = 'HEX', strict_json_output = true,
           statement_timeout_in_seconds = ${seconds}, lock_timeout = ${seconds}, query_tag = 'shopping-patterns'`,
        undefined,
        false,
      );
    } catch (err) {
      await destroy(connection);
      throw err;
    }
    this.log.debug('Snowflake session opened', { account, user, accessUrl: this.cfg.accessUrl });
    return connection;
  }

  /** Forget a connection without waiting for it (its session is closed in the background). */
  abandon(c: Sdk.Connection): void {
    this.connection = undefined;
    void destroy(c);
  }
}

/** The view of the warehouse inside `transaction()`: same session, lock already held. */
class SnowflakeTransaction implements Warehouse {
  readonly engine = 'snowflake' as const;
  readonly dialect = snowflakeDialect;
  closed = false;

  constructor(
    private readonly parent: SnowflakeWarehouse,
    private readonly connection: Sdk.Connection,
  ) {}

  async query<T extends Row = Row>(sql: string, params?: readonly Param[]): Promise<T[]> {
    const { statement, rows } = await this.run(sql, params);
    return toRows(statement, rows ?? []) as T[];
  }

  async execute(sql: string, params?: readonly Param[]): Promise<number> {
    const { statement } = await this.run(sql, params);
    return Math.max(0, statement.getNumUpdatedRows() ?? 0);
  }

  async executeScript(script: string): Promise<void> {
    for (const sql of splitStatements(script)) await this.run(sql, undefined);
  }

  async *stream(sql: string, params?: readonly Param[], options: StreamOptions = {}): AsyncIterable<Row[]> {
    // results read inside a transaction are small (ledger rows, keys); read them whole
    const { statement, rows: values } = await this.run(sql, params);
    const names = columnNames(statement);
    const convert = converters(statement, options);
    const rows = (values ?? []).map((v) => toRow(names, convert, v));
    for (let i = 0; i < rows.length; i += 5000) yield rows.slice(i, i + 5000);
  }

  transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T> {
    return fn(this); // nested: join the open transaction
  }

  async describeTable(table: TableRef): Promise<ColumnInfo[]> {
    return onlyTable(await this.findTables(table), table);
  }

  findTables(table: TableRef): Promise<TableDescription[]> {
    return findTables(this, this.parent.database, table);
  }

  async close(): Promise<void> {
    /* the parent owns the session */
  }

  private async run(sql: string, params: readonly Param[] | undefined): Promise<Executed> {
    if (this.closed) throw new ConfigError('transaction handle used after its transaction ended');
    try {
      return await this.parent.run(sql, params, false, this.connection);
    } catch (err) {
      throw classifyError(err);
    }
  }
}

/**
 * Tables by introspection: INFORMATION_SCHEMA.COLUMNS of the table's database, names as stored. The
 * reference is unquoted identifiers, which Snowflake resolves in upper case; the session has no
 * current schema, so an unqualified name is looked up in every schema of the database.
 * https://docs.snowflake.com/en/sql-reference/identifiers-syntax
 * https://docs.snowflake.com/en/sql-reference/info-schema/columns
 */
async function findTables(wh: Warehouse, defaultDatabase: string, table: TableRef): Promise<TableDescription[]> {
  const database = quoteIdent(table.database ?? defaultDatabase, 'snowflake');
  const schema = table.schema?.toUpperCase() ?? null;
  const rows = await wh.query(
    `select table_catalog, table_schema, table_name, column_name, data_type, numeric_precision, numeric_scale
       from ${database}.information_schema.columns
      where table_name = ?
        and ((? is null and table_schema <> 'INFORMATION_SCHEMA') or table_schema = ?)
      order by table_schema, table_name, ordinal_position`,
    [table.table.toUpperCase(), schema, schema],
  );
  const defaultCatalog = (table.database ?? defaultDatabase).toUpperCase();
  return groupTables(
    rows.map((r) => ({ ...r, table_catalog: r.table_catalog ?? defaultCatalog })),
    (r) =>
      r.data_type === 'NUMBER' && r.numeric_precision !== null && r.numeric_precision !== undefined
        ? `NUMBER(${String(r.numeric_precision)},${String(r.numeric_scale ?? 0)})`
        : String(r.data_type),
  );
}

// ------------------------------------------------------------------ values

const FETCH_AS_STRING: Sdk.DataType[] = ['Number', 'Date'];

type Converter = (v: unknown) => Scalar;

function columnNames(statement: Sdk.RowStatement): string[] {
  const seen = new Map<string, number>();
  return (statement.getColumns() ?? []).map((c) => {
    const base = resultName(c.getName(), 'snowflake');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`; // same rule as DuckDB's deduplicated names
  });
}

/** NUMBER(p,0) with p <= 15 always fits a double exactly; wider or scaled fixed-point may not. */
const SAFE_INTEGER_DIGITS = 15;

function converters(statement: Sdk.RowStatement, options: StreamOptions = {}): Converter[] {
  return (statement.getColumns() ?? []).map((c): Converter => {
    if (c.isNumber() && options.exactNumbers && c.getType() === 'fixed') {
      const scale = c.getScale() ?? 0;
      if (scale > 0 || (c.getPrecision() ?? 38) > SAFE_INTEGER_DIGITS) {
        return (v) => (v === null || v === undefined ? null : fixedScaleText(String(v), scale));
      }
    }
    if (c.isNumber()) {
      const integer = c.getType() === 'fixed' && (c.getScale() ?? 0) === 0;
      return (v) => {
        if (v === null || v === undefined) return null;
        const n = Number(v);
        return integer && !Number.isSafeInteger(n) ? String(v) : n;
      };
    }
    if (c.isDate() || c.isTimestamp() || c.isTime()) return (v) => (v === null || v === undefined ? null : trimFraction(String(v)));
    if (c.isBoolean()) return (v) => (v === null || v === undefined ? null : Boolean(v));
    if (c.isBinary()) return (v) => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('hex').toUpperCase() : String(v));
    if (c.isString()) return (v) => (v === null || v === undefined ? null : String(v));
    // VARIANT / OBJECT / ARRAY: scalars as themselves, structures as compact JSON text
    return (v) => {
      if (v === null || v === undefined) return null;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
      return JSON.stringify(v);
    };
  });
}

/** '2018-09-01 11:09:00.000000' -> '2018-09-01 11:09:00'; '...00.120000' -> '...00.12' (DuckDB's rendering). */
export function trimFraction(value: string): string {
  return value.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

function toRow(names: string[], convert: Converter[], values: unknown[]): Row {
  const row: Row = {};
  for (let i = 0; i < names.length; i++) row[names[i] as string] = (convert[i] as Converter)(values[i]);
  return row;
}

function toRows(statement: Sdk.RowStatement, rows: unknown[][]): Row[] {
  const names = columnNames(statement);
  const convert = converters(statement);
  return rows.map((values) => toRow(names, convert, values));
}

function toBinds(params: readonly Param[] | undefined): Sdk.Binds | undefined {
  if (!params || params.length === 0) return undefined;
  return params.map((p) => (p instanceof Date ? p.toISOString().replace('T', ' ').replace('Z', '') : p));
}

function excerpt(sql: string): string {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? one.slice(0, 117) + '...' : one;
}

function codeOf(err: unknown): string | number | undefined {
  return (err as { code?: string | number } | undefined)?.code;
}

function isAuthFailure(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && AUTH_FAILURE_CODES.has(String(code));
}

function isSessionGone(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && (SESSION_GONE_CODES.has(code) || SESSION_GONE_CODES.has(String(code)));
}

function destroy(c: Sdk.Connection): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      c.destroy(() => resolve());
    } catch {
      resolve();
    }
  });
}
