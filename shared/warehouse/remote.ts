/**
 * The Warehouse port over loopback HTTP, for local processes while the local stack owns the DuckDB
 * file (DuckDB allows one writing process). Server side: local/stack/warehouse-server.ts.
 *
 * The endpoint runs any SQL, so it takes only requests with the token the stack drew at start. The
 * token is in the stack's state file, which only its owner may read: the stack writes it with mode
 * 0600, and a reader refuses a file another user owns or others may read or write (its token may be
 * known, its endpoint may be someone else's) rather than trust it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { ConfigError, TerminalError, TransientError } from '../errors';
import { duckdbDialect } from './dialect';
import { duckdbFindTablesSql, groupTables } from './duckdb-catalog';
import type { ColumnInfo, Param, Row, StreamOptions, TableDescription, TableRef, Warehouse } from './port';

export interface StackInfo {
  pid: number;
  warehouseUrl: string;
  /** the secret every warehouse request carries (Authorization: Bearer) */
  warehouseToken: string;
  duckdbPath: string;
  s3Endpoint: string;
  sqsEndpoint: string;
  queueUrl: string;
  dlqUrl: string;
  startedAt: string;
  /** The HTTP API for transfers (local/stack/api-server.ts) and its token (Authorization: Bearer). */
  apiUrl?: string;
  apiToken?: string;
  stsEndpoint?: string;
}

export const STACK_FILE = 'stack.json';

/** A fresh secret for the warehouse endpoint, one per stack start. */
export function newWarehouseToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/**
 * Write the state file readable and writable by its owner only (0600), replacing whatever was
 * there (a stale file, one with looser permissions) by a rename, so no reader sees half a file.
 */
export function writeStackInfo(localDir: string, info: StackInfo): string {
  const file = path.join(localDir, STACK_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2), { mode: 0o600, flag: 'wx' });
  fs.chmodSync(tmp, 0o600); // the mode above is filtered by the umask, which can only remove bits; be explicit
  fs.renameSync(tmp, file);
  return file;
}

/** The running local stack described in `<localDir>/stack.json`, if its process is alive. */
export function runningStack(localDir: string): StackInfo | undefined {
  const file = path.join(localDir, STACK_FILE);
  let raw: string;
  let stat: fs.Stats;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      stat = fs.fstatSync(fd);
      raw = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const uid = process.getuid?.();
  if ((stat.mode & 0o077) !== 0 || (uid !== undefined && stat.uid !== uid)) {
    throw new ConfigError(
      `${file} is not trusted: it must belong to you and be readable only by you (mode 0600), it is ` +
        `mode ${(stat.mode & 0o777).toString(8)}${uid !== undefined && stat.uid !== uid ? ` owned by uid ${stat.uid}` : ''}. ` +
        'Stop the local stack and start it again (npm start rewrites the file), or delete the file.',
    );
  }
  let info: StackInfo;
  try {
    info = JSON.parse(raw) as StackInfo;
  } catch {
    return undefined;
  }
  if (info.pid === process.pid) return undefined; // we are the stack
  try {
    process.kill(info.pid, 0);
  } catch {
    return undefined; // stale file from a stack that died
  }
  return info;
}

function params(p: readonly Param[] | undefined): unknown[] | undefined {
  return p?.map((v) => (v instanceof Date ? v.toISOString().replace('T', ' ').replace('Z', '') : v));
}

export class RemoteWarehouse implements Warehouse {
  readonly engine = 'duckdb' as const;
  readonly dialect = duckdbDialect;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly tx?: string,
  ) {}

  private get headers(): Record<string, string> {
    return { 'content-type': 'application/json', authorization: `Bearer ${this.token}` };
  }

  private async call<T>(op: string, body: Record<string, unknown> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/v1/${op}`, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify({ ...body, tx: this.tx }),
      });
    } catch (err) {
      throw new TransientError(`local warehouse at ${this.url} is not reachable (is npm start still running?)`, {
        cause: err,
      });
    }
    const payload = (await res.json()) as T & { error?: string; retryable?: boolean };
    if (!res.ok || payload.error) {
      const message = payload.error ?? `HTTP ${res.status}`;
      throw payload.retryable ? new TransientError(message) : new TerminalError(message);
    }
    return payload;
  }

  async query<T extends Row = Row>(sql: string, p?: readonly Param[]): Promise<T[]> {
    return (await this.call<{ rows: T[] }>('query', { sql, params: params(p) })).rows;
  }

  async execute(sql: string, p?: readonly Param[]): Promise<number> {
    return (await this.call<{ changed: number }>('execute', { sql, params: params(p) })).changed;
  }

  async executeScript(sql: string): Promise<void> {
    await this.call('script', { sql });
  }

  async *stream(sql: string, p?: readonly Param[], options?: StreamOptions): AsyncIterable<Row[]> {
    const res = await fetch(`${this.url}/v1/stream`, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify({ sql, params: params(p), tx: this.tx, options }),
    });
    if (!res.ok || !res.body) {
      const payload = (await res.json().catch(() => ({}))) as { error?: string };
      throw new TerminalError(payload.error ?? `HTTP ${res.status}`);
    }
    const lines = createInterface({ input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream) });
    for await (const line of lines) {
      if (!line) continue;
      const msg = JSON.parse(line) as { rows?: Row[]; end?: boolean; error?: string };
      if (msg.error) throw new TerminalError(msg.error);
      if (msg.end) return;
      if (msg.rows) yield msg.rows;
    }
    throw new TransientError('local warehouse stream ended early');
  }

  async transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T> {
    if (this.tx) return fn(this);
    const { tx } = await this.call<{ tx: string }>('begin');
    const inner = new RemoteWarehouse(this.url, this.token, tx);
    let result: T;
    try {
      result = await fn(inner);
    } catch (err) {
      await inner.call('rollback').catch(() => undefined);
      throw err;
    }
    await inner.call('commit');
    return result;
  }

  async describeTable(table: TableRef): Promise<ColumnInfo[]> {
    return (await this.call<{ columns: ColumnInfo[] }>('describe', { table })).columns;
  }

  async findTables(table: TableRef): Promise<TableDescription[]> {
    const { sql, params: p } = duckdbFindTablesSql(table);
    return groupTables(await this.query(sql, p));
  }

  async close(): Promise<void> {
    // nothing to release: the stack owns the database
  }
}
