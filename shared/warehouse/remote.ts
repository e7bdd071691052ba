/**
 * The Warehouse port over loopback HTTP, for local processes while the local stack owns the DuckDB
 * file (DuckDB allows one writing process). Server side: local/stack/warehouse-server.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { TerminalError, TransientError } from '../errors';
import { duckdbDialect } from './dialect';
import { duckdbFindTablesSql, groupTables } from './duckdb-catalog';
import type { ColumnInfo, Param, Row, StreamOptions, TableDescription, TableRef, Warehouse } from './port';

export interface StackInfo {
  pid: number;
  warehouseUrl: string;
  duckdbPath: string;
  s3Endpoint: string;
  sqsEndpoint: string;
  queueUrl: string;
  dlqUrl: string;
  startedAt: string;
}

export const STACK_FILE = 'stack.json';

/** The running local stack described in `<localDir>/stack.json`, if its process is alive. */
export function runningStack(localDir: string): StackInfo | undefined {
  const file = path.join(localDir, STACK_FILE);
  let info: StackInfo;
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8')) as StackInfo;
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
    private readonly tx?: string,
  ) {}

  private async call<T>(op: string, body: Record<string, unknown> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/v1/${op}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
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
      headers: { 'content-type': 'application/json' },
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
    const inner = new RemoteWarehouse(this.url, tx);
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
