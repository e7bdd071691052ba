/**
 * DuckDB allows one process to open a database file for writing. While the local stack runs it owns
 * `.local/warehouse.duckdb`, and serves the Warehouse port on loopback so other local processes
 * (`npm run query`, `sls invoke local`, the CLIs) use the same database through
 * shared/warehouse/remote.ts instead of failing on the file lock.
 *
 * Protocol (JSON over HTTP, 127.0.0.1 only): POST /v1/{query,execute,script,stream,describe,begin,commit,rollback}
 * with {sql, params, tx}; `stream` answers NDJSON, one batch of rows per line.
 *
 * It runs any SQL, so only the user who started the stack may reach it:
 * - every request carries `Authorization: Bearer <token>`, a secret drawn at each start and kept in
 *   the stack's state file (`.local/stack.json`, mode 0600, see shared/warehouse/remote.ts); without
 *   it: 401;
 * - requests are `Content-Type: application/json`, or 415. A web page can send a cross-origin POST
 *   without a CORS preflight only as text/plain, form data or multipart ("simple requests"), so a
 *   page the user visits cannot reach the endpoint even if it guessed the port and the token;
 *   https://fetch.spec.whatwg.org/#cors-safelisted-request-header
 * - a request with an `Origin` header (browsers send one on cross-origin and on every POST) is
 *   refused (403), and a preflight (OPTIONS) gets 405 with no Access-Control-* header, so a browser
 *   never lets a page send anything else either.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
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
/** SQL and parameters, never data files: a larger request is refused (413) rather than buffered. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Why a request is refused before it is read, or undefined to serve it. */
export function refusal(req: http.IncomingMessage, token: string): { status: number; error: string } | undefined {
  if (req.method !== 'POST') return { status: 405, error: 'only POST' };
  if (req.headers.origin !== undefined) return { status: 403, error: 'requests from web pages are refused' };
  const auth = req.headers.authorization ?? '';
  const given = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
  // compare digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (!given || !timingSafeEqual(digest(given), digest(token)))
    return { status: 401, error: 'missing or wrong token: the local stack writes it to its stack.json' };
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return { status: 415, error: 'requests are Content-Type: application/json' };
  return undefined;
}

export async function startWarehouseServer(
  wh: Warehouse,
  port: number,
  token: string,
): Promise<{ url: string; close(): Promise<void> }> {
  if (token.length < 32) throw new Error('the warehouse endpoint needs a token of at least 32 characters');
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
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const refused = refusal(req, token);
    if (refused) {
      // the body is not read: close the connection rather than parse it as the next request
      res.writeHead(refused.status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: refused.error }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ error: `request larger than ${MAX_BODY_BYTES} bytes` }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        try {
          const parsed: unknown = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the body is a JSON object');
          const body = parsed as Body;
          const op = (req.url ?? '').replace(/^\/v1\//, '');
          if (op === 'stream') {
            // the first batch before the status line, so a query that fails at once is a 400, not a 200 with an error line
            const batches = target(body).stream(body.sql ?? '', body.params, body.options)[Symbol.asyncIterator]();
            let next = await batches.next();
            res.writeHead(200, { 'content-type': 'application/x-ndjson' });
            while (!next.done) {
              if (!res.write(JSON.stringify({ rows: next.value }) + '\n')) await new Promise((r) => res.once('drain', r));
              next = await batches.next();
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
