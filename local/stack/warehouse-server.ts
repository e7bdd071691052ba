/**
 * DuckDB allows one process to open a database file for writing. While the local stack runs it owns
 * `.local/warehouse.duckdb`, and serves the Warehouse port on loopback so other local processes
 * (`npm run query`, `sls invoke local`, the CLIs) use the same database through
 * shared/warehouse/remote.ts instead of failing on the file lock.
 *
 * Protocol (JSON over HTTP, 127.0.0.1 only): POST /v1/{query,execute,script,stream,describe,begin,commit,rollback}
 * with {sql, params, tx}; `stream` answers NDJSON, one batch of rows per line.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { errorMessage, PipelineError } from '../../shared/errors';
import type { Param, StreamOptions, TableRef, Warehouse } from '../../shared/warehouse/port';

interface Body {
  sql?: string;
  params?: Param[];
  tx?: string;
  table?: TableRef;
  options?: StreamOptions;
}

interface OpenTx {
  warehouse: Warehouse;
  finish: (commit: boolean) => void;
  timer: NodeJS.Timeout;
}

/** A transaction left open by a client that died is rolled back after this long. */
const TX_IDLE_MS = 60_000;

export async function startWarehouseServer(wh: Warehouse, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const open = new Map<string, OpenTx>();
  const pending = new Map<string, Promise<unknown>>();

  const target = (body: Body): Warehouse => {
    if (!body.tx) return wh;
    const tx = open.get(body.tx);
    if (!tx) throw new Error(`unknown or expired transaction ${body.tx}`);
    tx.timer.refresh();
    return tx.warehouse;
  };

  /** Open a transaction that stays open across requests until commit, rollback or idle timeout. */
  const begin = (): Promise<string> =>
    new Promise<string>((resolveId, rejectId) => {
      const id = randomUUID();
      let finish!: (commit: boolean) => void;
      const decided = new Promise<boolean>((resolve) => (finish = resolve));
      const done = wh
        .transaction(async (txWarehouse) => {
          const timer = setTimeout(() => {
            open.delete(id);
            finish(false);
          }, TX_IDLE_MS);
          timer.unref();
          open.set(id, { warehouse: txWarehouse, finish, timer });
          resolveId(id);
          if (!(await decided)) throw new RollbackSignal();
        })
        .catch((err) => {
          rejectId(err);
          if (!(err instanceof RollbackSignal)) throw err;
        });
      void done.catch(() => undefined);
      pending.set(id, done);
    });

  const end = async (id: string | undefined, commit: boolean) => {
    const tx = id ? open.get(id) : undefined;
    if (!tx || !id) throw new Error(`unknown or expired transaction ${id}`);
    open.delete(id);
    clearTimeout(tx.timer);
    tx.finish(commit);
    const done = pending.get(id);
    pending.delete(id);
    await done;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = (chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}) as Body;
          const op = (req.url ?? '').replace(/^\/v1\//, '');
          if (op === 'stream') {
            res.writeHead(200, { 'content-type': 'application/x-ndjson' });
            for await (const rows of target(body).stream(body.sql ?? '', body.params, body.options)) {
              if (!res.write(JSON.stringify({ rows }) + '\n')) await new Promise((r) => res.once('drain', r));
            }
            res.end(JSON.stringify({ end: true }) + '\n');
            return;
          }
          let result: unknown;
          switch (op) {
            case 'query':
              result = { rows: await target(body).query(body.sql ?? '', body.params) };
              break;
            case 'execute':
              result = { changed: await target(body).execute(body.sql ?? '', body.params) };
              break;
            case 'script':
              await target(body).executeScript(body.sql ?? '');
              result = {};
              break;
            case 'describe':
              result = { columns: await target(body).describeTable(body.table as TableRef) };
              break;
            case 'begin':
              result = { tx: await begin() };
              break;
            case 'commit':
            case 'rollback':
              await end(body.tx, op === 'commit');
              result = {};
              break;
            case 'ping':
              result = { ok: true, engine: wh.engine };
              break;
            default:
              res.writeHead(404).end(JSON.stringify({ error: `unknown operation ${op}` }));
              return;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
        } catch (err) {
          const payload = JSON.stringify({
            error: errorMessage(err),
            retryable: err instanceof PipelineError ? err.retryable : false,
          });
          if (res.headersSent) res.end(JSON.stringify({ error: errorMessage(err) }) + '\n');
          else res.writeHead(400, { 'content-type': 'application/json' }).end(payload);
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: async () => {
      for (const id of [...open.keys()]) await end(id, false).catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

class RollbackSignal extends Error {}
