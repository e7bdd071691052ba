/**
 * A loopback fake of Snowflake's REST API, enough for the real `snowflake-sdk` to log in, run
 * statements, stream chunked results, renew tokens and close its session. It executes no SQL: it
 * records every statement and answers from a script; unscripted statements get a plausible default.
 *
 * API (for every helper that needs Snowflake in a test):
 *
 *   const fake = await FakeSnowflake.start({ publicKeys: [pem] });   // 127.0.0.1, free port
 *   process.env.SNOWFLAKE_ACCESS_URL = fake.url;                     // the adapter accepts it
 *
 *   // answers, matched against the statement text; the newest matching script wins
 *   fake.reply(/select .* from raw\.file_ledger/i, { columns: [col.text('KEY'), col.int('N')], rows: [['a', 1]] });
 *   fake.reply(/^select id/i, { columns: [col.int('ID')], rows: bigRows, chunkRows: 1000 }); // served in chunks
 *   fake.reply(/^insert/i, { updated: 3 });                         // DML row count
 *   fake.reply(/^copy into/i, { copy: [copyFile('k1', 'LOADED', 10, 10)] });
 *   fake.reply(/^select/i, (q) => ({ columns: [...], rows: compute(q.binds) }));  // computed answers
 *   fake.reply(/^drop table/i, { error: { code: '002003', sqlState: '42S02', message: 'does not exist' } });
 *   fake.reply(/.../, reply, { times: 1 });                         // one-shot
 *
 *   // faults, also by statement text
 *   fake.fault(/^copy into/i, { httpStatus: 503 }, { times: 1 });   // 503, the driver retries
 *   fake.fault(/^copy into/i, { drop: true }, { times: 1 });         // socket destroyed mid-request
 *   fake.fault(/^copy into/i, { inProgress: 2 });                   // "query in progress", polled twice
 *   fake.expireSessionToken();                                      // next query: 390112, the driver renews
 *   fake.rotateKeys([newPem]);                                      // old key now gets 390144 (JWT invalid)
 *
 *   // what happened
 *   fake.statements   // executed statements: { sql, binds, sessionId, txn, queryId, requestId }
 *   fake.sql()        // just their texts, in order
 *   fake.attempts     // every query-request attempt including faulted ones (retryCount, outcome)
 *   fake.logins, fake.sessions, fake.telemetry, fake.chunkRequests,
 *   fake.transactions (id -> open|committed|rolled back); fake.killSessions() ends every session
 *   await fake.idle() // waits until no dropped/in-flight request is still being retried by a client
 *   await fake.close()
 *
 *   // conformance with Snowflake's documented rules (../snowflake-rules): every statement is checked
 *   fake.violations       // statements that broke a rule (each answered as Snowflake would, see below)
 *   fake.takeViolations() // read and clear them (a test that sends a bad statement on purpose)
 *   fake.knownViolations  // broken rules listed in ../snowflake-rules/known-violations.ts (tolerated)
 *   fake.implicitCommits  // transactions a DDL statement committed
 *
 * Snowflake behaviours the fake honours, whatever the scripts say:
 * - a statement that does not parse, uses a reserved keyword as an identifier or puts CREATE FUNCTION's
 *   clauses out of order gets 001003 SQL compilation error; an INSERT that leaves a NOT NULL column out
 *   (or gives it a NULL) gets 100072 NULL result in a non-nullable column. NOT NULL is the only
 *   constraint Snowflake enforces: https://docs.snowflake.com/en/sql-reference/constraints-overview
 * - a DDL statement inside BEGIN ... commits the open transaction first and runs as its own; a later
 *   ROLLBACK undoes nothing before it (https://docs.snowflake.com/en/sql-reference/transactions#ddl).
 *   The fake commits, and records a `ddl-commits-transaction` violation: code that does this expected
 *   the transaction to be atomic.
 * Every test file that imports the fake gets an afterEach that fails the test on any violation, with the
 * rule's name and documentation link.
 *
 * Values are written as the service writes them (see ./values.ts), so the driver's type handling
 * (numbers, timestamps, variants) is exercised for real. Protocol reference: the driver itself,
 * snowflake-sdk/dist/lib/services/sf.js and lib/connection/statement.js.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { Catalog, checkStatement, formatViolation, initRules, parseSnowflake, renderedMigrations, RULES, type Violation } from '../snowflake-rules';
import { isKnown, type KnownViolation } from '../snowflake-rules/known-violations';
import { type ColumnSpec, encodeRows, rowtypeOf } from './values';

export { col, encodeCell, type ColumnSpec, type ColumnType } from './values';

export type BindValue = string | number | boolean | null;

export interface QueryContext {
  sql: string;
  binds: BindValue[];
  sessionId: number;
  /** Transaction id when the statement runs between BEGIN and COMMIT/ROLLBACK. */
  txn: number | null;
  /** Session parameters set with ALTER SESSION (upper-case names). */
  params: Record<string, string>;
}

export interface CopyFileResult {
  file: string;
  status: 'LOADED' | 'PARTIALLY_LOADED' | 'LOAD_FAILED' | 'LOAD_SKIPPED';
  rowsParsed: number;
  rowsLoaded: number;
  errorsSeen?: number;
  firstError?: string | null;
  firstErrorLine?: number | null;
}

export type Reply =
  | { columns: ColumnSpec[]; rows: ReadonlyArray<Record<string, unknown> | unknown[]>; chunkRows?: number }
  | { updated: number; kind?: 'insert' | 'update' | 'delete' | 'merge' }
  | { copy: CopyFileResult[] }
  | { error: { code?: string; message: string; sqlState?: string } }
  | { ok: true; message?: string }
  | { upload: UploadInstruction };

/**
 * The service's answer to PUT: not rows but instructions for the driver, which then uploads the file
 * itself (snowflake-sdk/dist/lib/file_transfer_agent/file_transfer_agent.js reads `command`,
 * `src_locations`, `stageInfo`, `autoCompress`, `sourceCompression`, `parallel`, `overwrite`). The fake
 * hands out a LOCAL_FS stage location (a directory), a stage type the driver supports for tests: it
 * copies the file there, unencrypted, and ./engine.ts reads that directory as the stage.
 */
export interface UploadInstruction {
  src_locations: string[];
  location: string;
  autoCompress: boolean;
  sourceCompression: string;
  parallel: number;
  overwrite: boolean;
}

export interface StatementEngine {
  execute(ctx: QueryContext): Promise<Reply | undefined>;
  transactionEnded(sessionId: number, txn: number, outcome: 'committed' | 'rolled back'): Promise<void>;
}

export type Fault = { httpStatus: number } | { drop: true } | { inProgress: number };

export interface StatementRecord extends QueryContext {
  queryId: string;
  requestId: string;
}

export interface AttemptRecord {
  sql: string;
  requestId: string;
  retryCount: number;
  outcome: 'executed' | 'replayed' | 'http' | 'dropped' | 'in progress' | 'session error';
}

interface Script<T> {
  pattern: RegExp;
  value: T;
  remaining: number;
}

interface Session {
  id: number;
  token: string;
  masterToken: string;
  params: Record<string, string>;
  txn: number | null;
  deleted: boolean;
  expireNext: boolean;
}

interface StoredResult {
  body: Record<string, unknown>;
  chunks: string[];
  pendingPolls: number;
}

export interface FakeOptions {
  account?: string;
  user?: string;
  /** PEM public keys accepted for key-pair (JWT) login. Empty: any well-formed JWT is accepted. */
  publicKeys?: string[];
  /**
   * The roles granted to the user, directly or through the role hierarchy. Set: a login whose role
   * (the driver's `roleName`) or a `USE ROLE` naming any other role is refused, as Snowflake does ("To
   * use a role, the role must have been granted to the user":
   * https://docs.snowflake.com/en/sql-reference/sql/use-role). Unset: any role (older tests).
   */
  roles?: string[];
}

/** A COPY INTO result row for one file, as `fake.reply(/copy/, { copy: [...] })` wants it. */
export function copyFile(
  file: string,
  status: CopyFileResult['status'],
  rowsParsed: number,
  rowsLoaded: number,
  firstError: string | null = null,
): CopyFileResult {
  return { file, status, rowsParsed, rowsLoaded, errorsSeen: rowsParsed - rowsLoaded, firstError };
}

const DEFAULT_PARAMS: Record<string, string | number | boolean> = {
  TIMEZONE: 'America/Los_Angeles',
  TIMESTAMP_OUTPUT_FORMAT: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM',
  TIMESTAMP_NTZ_OUTPUT_FORMAT: '',
  TIMESTAMP_LTZ_OUTPUT_FORMAT: '',
  TIMESTAMP_TZ_OUTPUT_FORMAT: '',
  DATE_OUTPUT_FORMAT: 'YYYY-MM-DD',
  TIME_OUTPUT_FORMAT: 'HH24:MI:SS',
  CLIENT_RESULT_CHUNK_SIZE: 160,
  CLIENT_SESSION_KEEP_ALIVE: false,
  QUERY_CONTEXT_CACHE_SIZE: 5,
  CLIENT_STAGE_ARRAY_BINDING_THRESHOLD: 65280,
};

function fingerprint(publicKeyPem: string): string {
  const der = crypto.createPublicKey(publicKeyPem).export({ format: 'der', type: 'spki' });
  return 'SHA256:' + crypto.createHash('sha256').update(der).digest('base64');
}

function uuid(): string {
  return crypto.randomUUID();
}

export class FakeSnowflake {
  readonly statements: StatementRecord[] = [];
  readonly attempts: AttemptRecord[] = [];
  readonly logins: { user: string; account: string; ok: boolean; code?: string }[] = [];
  readonly telemetry: unknown[] = [];
  readonly transactions = new Map<number, 'open' | 'committed' | 'rolled back'>();
  readonly sessions = new Map<number, Session>();
  /** Result chunk downloads served (large results). */
  chunkRequests = 0;
  /** Statements that broke one of Snowflake's documented rules (../snowflake-rules). */
  readonly violations: Violation[] = [];
  /** Violations listed in ../snowflake-rules/known-violations.ts: recorded, answered normally. */
  readonly knownViolations: { violation: Violation; known: KnownViolation }[] = [];
  /** Transactions committed by a DDL statement sent inside them. */
  readonly implicitCommits: { txn: number; sql: string }[] = [];
  readonly account: string;
  readonly user: string;
  readonly roles: Set<string> | undefined;
  /**
   * Statements the scripts do not answer go to this engine, when set (./engine.ts executes the ingest
   * path's SQL for real); undefined from it: the default answer.
   */
  engine: StatementEngine | undefined;
  url = '';

  private server: http.Server;
  private replies: Script<Reply | ((q: QueryContext) => Reply)>[] = [];
  private faults: Script<Fault>[] = [];
  private keys: Map<string, string>;
  private results = new Map<string, StoredResult>();
  private byRequestId = new Map<string, string>();
  private nextSession = 1000;
  private nextTxn = 1;
  private inFlight = 0;
  private dropped = new Set<string>();
  private waiters: (() => void)[] = [];
  private catalog = new Catalog();

  private constructor(opts: FakeOptions) {
    this.account = (opts.account ?? 'TESTACCOUNT').toUpperCase();
    this.user = (opts.user ?? 'LOADER').toUpperCase();
    this.roles = opts.roles ? new Set(opts.roles.map((r) => r.toUpperCase())) : undefined;
    this.keys = new Map((opts.publicKeys ?? []).map((k) => [fingerprint(k), k]));
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  static async start(opts: FakeOptions = {}): Promise<FakeSnowflake> {
    await initRules();
    const fake = new FakeSnowflake(opts);
    fake.catalog = migrationCatalog().clone();
    started.add(fake);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Answer statements matching `pattern`. Newest script wins; `times` limits how often it answers. */
  reply(pattern: RegExp, value: Reply | ((q: QueryContext) => Reply), opts: { times?: number } = {}): this {
    this.replies.unshift({ pattern, value, remaining: opts.times ?? Infinity });
    return this;
  }

  /** Make requests for statements matching `pattern` fail at the transport level. */
  fault(pattern: RegExp, fault: Fault, opts: { times?: number } = {}): this {
    this.faults.unshift({ pattern, value: fault, remaining: opts.times ?? Infinity });
    return this;
  }

  /** Drop all scripts and faults (recorded history stays). */
  resetScripts(): void {
    this.replies = [];
    this.faults = [];
  }

  /** Accept only these public keys from now on (a key rotation on the Snowflake user). */
  rotateKeys(publicKeys: string[]): void {
    this.keys = new Map(publicKeys.map((k) => [fingerprint(k), k]));
  }

  /** The next query on every open session is answered with 390112 (session token expired). */
  expireSessionToken(): void {
    for (const s of this.sessions.values()) s.expireNext = true;
  }

  /** End every open session on the service side (as after a long idle): the next query gets 390111. */
  killSessions(): void {
    for (const s of this.sessions.values()) s.deleted = true;
  }

  sql(): string[] {
    return this.statements.map((s) => s.sql);
  }

  /** The violations recorded so far, cleared (for a test that sends a violating statement on purpose). */
  takeViolations(): Violation[] {
    return this.violations.splice(0);
  }

  /** Resolves when no client is still retrying a dropped request and nothing is in flight. */
  async idle(timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 || this.dropped.size > 0) {
      if (Date.now() > deadline) throw new Error(`fake-snowflake: still busy after ${timeoutMs} ms (${[...this.dropped].join(', ')})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** True once close() was called. */
  closed = false;

  async close(): Promise<void> {
    this.closed = true;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- HTTP plumbing

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inFlight++;
    try {
      const url = new URL(req.url ?? '/', this.url);
      const body = await readBody(req);
      const route = `${req.method} ${url.pathname}`;
      if (route === 'POST /session/v1/login-request') return this.login(url, body, res);
      if (route === 'POST /session/token-request') return this.renew(req, body, res);
      if (route === 'POST /session/heartbeat') return this.authed(req, res, () => json(res, ok(null)));
      if (route === 'POST /session' && url.searchParams.get('delete') === 'true') return this.logout(req, res);
      if (route === 'POST /telemetry/send') {
        this.telemetry.push(body);
        return json(res, ok(null));
      }
      if (route === 'POST /queries/v1/query-request') return this.query(req, url, body, res);
      if (route === 'POST /queries/v1/abort-request' || /^POST \/queries\/[^/]+\/abort-request$/.test(route))
        return this.authed(req, res, () => json(res, ok(null)));
      let m = /^GET \/queries\/([^/]+)\/result$/.exec(route);
      if (m) return this.authed(req, res, () => this.result(m![1] as string, res));
      m = /^GET \/monitoring\/queries\/([^/]+)$/.exec(route);
      if (m) return this.authed(req, res, () => this.monitoring(m![1] as string, res));
      m = /^GET \/chunks\/([^/]+)\/(\d+)$/.exec(route);
      if (m) return this.chunk(m[1] as string, Number(m[2]), res);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: false, message: `fake-snowflake: no route ${route}` }));
    } finally {
      this.inFlight--;
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private session(req: http.IncomingMessage): Session | undefined {
    const m = /Snowflake Token="([^"]*)"/.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    for (const s of this.sessions.values()) if (s.token === m[1] || s.masterToken === m[1]) return s;
    return undefined;
  }

  private authed(req: http.IncomingMessage, res: http.ServerResponse, fn: (s: Session) => void): void {
    const s = this.session(req);
    if (!s) return json(res, fail('390104', 'Invalid session token.'));
    if (s.deleted) return json(res, fail('390111', 'Session no longer exists.  New login required to access the service.'));
    fn(s);
  }

  // ---------------------------------------------------------------- session

  private login(url: URL, body: Record<string, unknown>, res: http.ServerResponse): void {
    const data = (body.data ?? {}) as Record<string, unknown>;
    const user = String(data.LOGIN_NAME ?? '').toUpperCase();
    const account = String(data.ACCOUNT_NAME ?? '').toUpperCase();
    const problem = this.checkJwt(data, account, user);
    const role = url.searchParams.get('roleName')?.toUpperCase();
    const roleRefused = !problem && role !== undefined && this.roles !== undefined && !this.roles.has(role);
    const code = problem ? '390144' : roleRefused ? '390189' : undefined;
    this.logins.push({ user, account, ok: !code, ...(code ? { code } : {}) });
    if (problem) return json(res, fail('390144', `JWT token is invalid. [${problem}]`));
    if (roleRefused) {
      return json(
        res,
        fail(
          '390189',
          `Role '${role}' specified in the connect string is not granted to this user. Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC.`,
        ),
      );
    }
    const session: Session = {
      id: this.nextSession++,
      token: 'session-' + uuid(),
      masterToken: 'master-' + uuid(),
      params: {},
      txn: null,
      deleted: false,
      expireNext: false,
    };
    this.sessions.set(session.id, session);
    json(
      res,
      ok({
        token: session.token,
        masterToken: session.masterToken,
        validityInSeconds: 3600,
        masterValidityInSeconds: 14400,
        sessionId: session.id,
        serverVersion: 'fake',
        firstLogin: false,
        parameters: this.parameters(session),
        sessionInfo: { databaseName: null, schemaName: null, warehouseName: null, roleName: null },
      }),
    );
  }

  private checkJwt(data: Record<string, unknown>, account: string, user: string): string | undefined {
    if (data.AUTHENTICATOR !== 'SNOWFLAKE_JWT') return `authenticator ${String(data.AUTHENTICATOR)} is not SNOWFLAKE_JWT`;
    if (account !== this.account) return `unknown account ${account}`;
    if (user !== this.user) return `unknown user ${user}`;
    const token = String(data.TOKEN ?? '');
    const [h, p, sig] = token.split('.');
    if (!h || !p || !sig) return 'malformed JWT';
    let payload: { iss?: string; sub?: string };
    try {
      payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    } catch {
      return 'malformed JWT payload';
    }
    if (payload.sub !== `${account}.${user}`) return `subject ${payload.sub} is not ${account}.${user}`;
    if (this.keys.size === 0) return undefined;
    const fp = payload.iss?.split('.').slice(2).join('.') ?? '';
    const key = this.keys.get(fp);
    if (!key) return `no public key with fingerprint ${fp}`;
    const valid = crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(sig, 'base64url'));
    return valid ? undefined : 'bad signature';
  }

  private renew(req: http.IncomingMessage, body: Record<string, unknown>, res: http.ServerResponse): void {
    const s = this.session(req);
    if (!s || s.deleted || body.requestType !== 'RENEW') return json(res, fail('390114', 'Master token has expired.'));
    s.token = 'session-' + uuid();
    json(res, ok({ sessionToken: s.token, validityInSecondsST: 3600, masterToken: s.masterToken, validityInSecondsMT: 14400 }));
  }

  private logout(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.authed(req, res, (s) => {
      s.deleted = true;
      if (s.txn !== null) this.transactions.set(s.txn, 'rolled back');
      s.txn = null;
      json(res, ok(null));
    });
  }

  private parameters(s: Session): { name: string; value: unknown }[] {
    const all: Record<string, unknown> = { ...DEFAULT_PARAMS, ...s.params };
    return Object.entries(all).map(([name, value]) => ({ name, value }));
  }

  // ---------------------------------------------------------------- statements

  private async query(req: http.IncomingMessage, url: URL, body: Record<string, unknown>, res: http.ServerResponse): Promise<void> {
    const sql = String(body.sqlText ?? '');
    const requestId = url.searchParams.get('requestId') ?? uuid();
    const retryCount = Number(url.searchParams.get('retryCount') ?? 0);
    const s = this.session(req);
    if (!s || s.deleted) {
      this.attempts.push({ sql, requestId, retryCount, outcome: 'session error' });
      this.dropped.delete(requestId);
      return json(res, s ? fail('390111', 'Session no longer exists.  New login required to access the service.') : fail('390104', 'Invalid session token.'));
    }
    if (s.expireNext) {
      s.expireNext = false;
      this.attempts.push({ sql, requestId, retryCount, outcome: 'session error' });
      return json(res, fail('390112', 'Session token has expired.'));
    }
    // the service answers a resubmitted request id with the first execution's result
    const earlier = this.byRequestId.get(requestId);
    if (earlier) {
      this.attempts.push({ sql, requestId, retryCount, outcome: 'replayed' });
      this.dropped.delete(requestId);
      return json(res, (this.results.get(earlier) as StoredResult).body);
    }
    const fault = take(this.faults, sql);
    if (fault && 'httpStatus' in fault) {
      this.attempts.push({ sql, requestId, retryCount, outcome: 'http' });
      res.writeHead(fault.httpStatus, { 'content-type': 'text/plain' });
      res.end('fake-snowflake: injected fault');
      return;
    }
    if (fault && 'drop' in fault) {
      this.attempts.push({ sql, requestId, retryCount, outcome: 'dropped' });
      this.dropped.add(requestId);
      res.socket?.destroy();
      return;
    }
    this.dropped.delete(requestId);
    const binds = decodeBinds(body.bindings);
    const rejection = this.conform(s, sql, binds);
    const ctx: QueryContext = { sql, binds, sessionId: s.id, txn: s.txn, params: { ...s.params } };
    const queryId = uuid();
    const answer = await this.execute(s, ctx, rejection);
    // BEGIN belongs to the transaction it opens; COMMIT/ROLLBACK to the one they end
    const txn = /^\s*(begin|start\s+transaction)\b/i.test(sql) ? s.txn : ctx.txn;
    this.statements.push({ ...ctx, txn, queryId, requestId });
    this.attempts.push({ sql, requestId, retryCount, outcome: fault && 'inProgress' in fault ? 'in progress' : 'executed' });
    const stored = this.store(queryId, s, answer, fault && 'inProgress' in fault ? fault.inProgress : 0);
    this.byRequestId.set(requestId, queryId);
    if (stored.pendingPolls > 0) {
      return json(res, { success: true, code: '333333', message: 'Query in progress', data: { queryId, getResultUrl: `/queries/${queryId}/result` } });
    }
    json(res, stored.body);
  }

  /**
   * Check the statement against Snowflake's documented rules before it runs; the answer Snowflake would
   * give a violating statement, if any. A DDL statement inside a transaction commits it here, first.
   */
  private conform(s: Session, sql: string, binds: BindValue[]): Reply | undefined {
    const found = checkStatement(sql, this.catalog);
    found.push(...nullsIntoNotNull(sql, binds, this.catalog));
    if (s.txn !== null && isDdl(sql)) {
      // https://docs.snowflake.com/en/sql-reference/transactions#ddl: "If a DDL statement is executed while
      // a transaction is active, the DDL statement: 1. Implicitly commits the active transaction. 2.
      // Executes the DDL statement as a separate transaction."
      this.transactions.set(s.txn, 'committed');
      this.implicitCommits.push({ txn: s.txn, sql });
      s.txn = null;
      found.push({ rule: RULES.ddlCommitsTransaction, message: 'DDL sent between BEGIN and COMMIT/ROLLBACK: Snowflake committed the open transaction before it', sql });
    }
    let rejection: Reply | undefined;
    for (const v of found) {
      const known = isKnown(v);
      if (known) {
        this.knownViolations.push({ violation: v, known });
        continue;
      }
      this.violations.push(v);
      if (rejection || v.rule === RULES.ddlCommitsTransaction) continue;
      rejection =
        v.rule === RULES.insertNotNull
          ? { error: { code: '100072', sqlState: '22000', message: `NULL result in a non-nullable column (fake-snowflake: ${v.message})` } }
          : { error: { code: '001003', sqlState: '42000', message: `SQL compilation error: ${v.message} [fake-snowflake rule ${v.rule.id}, ${v.rule.url}]` } };
    }
    if (!rejection) {
      const parsed = parseSnowflake(sql);
      if ('ast' in parsed) this.catalog.learn(parsed.ast, 'a statement sent in this test');
    }
    return rejection;
  }

  private async execute(s: Session, ctx: QueryContext, rejection?: Reply): Promise<Reply> {
    const useRole = /^\s*use\s+role\s+("?)([A-Za-z0-9_$]+)\1\s*;?\s*$/i.exec(ctx.sql);
    if (useRole && this.roles && !this.roles.has((useRole[2] as string).toUpperCase())) {
      // the message Snowflake gives; its documentation names no error code for it
      return {
        error: {
          code: '003013',
          sqlState: '42501',
          message: `SQL access control error: Requested role '${(useRole[2] as string).toUpperCase()}' is not assigned to the executing user. Specify another role to activate.`,
        },
      };
    }
    const scripted = rejection ?? take(this.replies, ctx.sql);
    let reply = scripted === undefined ? undefined : typeof scripted === 'function' ? scripted(ctx) : scripted;
    if (!rejection && reply === undefined && this.engine) reply = await this.engine.execute(ctx);
    // session and transaction bookkeeping happens whatever the script says, as on the service
    const text = ctx.sql.trim();
    const failed = reply !== undefined && 'error' in reply;
    if (!failed) {
      const alter = /^alter\s+session\s+set\s+([\s\S]+?);?$/i.exec(text);
      if (alter) {
        for (const m of (alter[1] as string).matchAll(/(\w+)\s*=\s*('(?:[^']|'')*'|[^\s,]+)/g)) {
          const raw = m[2] as string;
          s.params[(m[1] as string).toUpperCase()] = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : raw;
        }
      }
      if (/^(begin|start\s+transaction)\b/i.test(text)) {
        s.txn = this.nextTxn++;
        this.transactions.set(s.txn, 'open');
      } else if (/^commit\b/i.test(text) && s.txn !== null) {
        this.transactions.set(s.txn, 'committed');
        await this.engine?.transactionEnded(s.id, s.txn, 'committed');
        s.txn = null;
      } else if (/^rollback\b/i.test(text) && s.txn !== null) {
        this.transactions.set(s.txn, 'rolled back');
        await this.engine?.transactionEnded(s.id, s.txn, 'rolled back');
        s.txn = null;
      }
    }
    if (reply) return reply;
    if (/^(select|with|show|describe|desc|list)\b/i.test(text)) return { columns: [], rows: [] };
    if (/^insert\b/i.test(text)) return { updated: 0, kind: 'insert' };
    if (/^(delete)\b/i.test(text)) return { updated: 0, kind: 'delete' };
    if (/^(update)\b/i.test(text)) return { updated: 0, kind: 'update' };
    if (/^(merge)\b/i.test(text)) return { updated: 0, kind: 'merge' };
    if (/^copy\s+into\b/i.test(text)) return { copy: [] };
    return { ok: true };
  }

  private store(queryId: string, s: Session, reply: Reply, pendingPolls: number): StoredResult {
    const base = {
      queryId,
      parameters: this.parameters(s),
      finalDatabaseName: null,
      finalSchemaName: null,
      finalWarehouseName: null,
      finalRoleName: null,
      version: 1,
      queryResultFormat: 'json',
      sendResultTime: Date.now(),
    };
    let body: Record<string, unknown>;
    const chunks: string[] = [];
    if ('error' in reply) {
      body = {
        success: false,
        code: reply.error.code ?? '100000',
        message: reply.error.message,
        data: { queryId, sqlState: reply.error.sqlState ?? '42000', errorCode: reply.error.code ?? '100000', internalError: false },
      };
    } else if ('columns' in reply) {
      const rowset = encodeRows(reply.columns, reply.rows);
      const size = reply.chunkRows ?? rowset.length;
      const first = rowset.slice(0, size);
      const rest = rowset.slice(size);
      for (let i = 0; i < rest.length; i += size) chunks.push(rest.slice(i, i + size).map((r) => JSON.stringify(r)).join(','));
      body = ok({
        ...base,
        rowtype: reply.columns.map(rowtypeOf),
        rowset: first,
        total: rowset.length,
        returned: rowset.length,
        statementTypeId: 0x1000,
        chunks: chunks.map((_, i) => ({
          url: `${this.url}/chunks/${queryId}/${i}`,
          rowCount: Math.min(size, rest.length - i * size),
          uncompressedSize: (chunks[i] as string).length,
          compressedSize: (chunks[i] as string).length,
        })),
        ...(chunks.length ? { qrmk: 'fake-query-result-master-key' } : {}),
      });
    } else if ('updated' in reply) {
      const kind = reply.kind ?? 'insert';
      const ids = { insert: 0x3100, update: 0x3200, delete: 0x3300, merge: 0x3400 } as const;
      const names = { insert: 'number of rows inserted', update: 'number of rows updated', delete: 'number of rows deleted', merge: 'number of rows updated' } as const;
      body = ok({
        ...base,
        rowtype: [rowtypeOf({ name: names[kind], type: 'fixed' })],
        rowset: [[String(reply.updated)]],
        total: 1,
        returned: 1,
        statementTypeId: ids[kind],
      });
    } else if ('upload' in reply) {
      const u = reply.upload;
      body = ok({
        ...base,
        command: 'UPLOAD',
        src_locations: u.src_locations,
        autoCompress: u.autoCompress,
        sourceCompression: u.sourceCompression,
        parallel: u.parallel,
        overwrite: u.overwrite,
        stageInfo: { locationType: 'LOCAL_FS', location: u.location, path: '', region: null, creds: {} },
        statementTypeId: 0x7000,
      });
    } else if ('copy' in reply) {
      body = ok({ ...base, ...copyRowset(reply.copy), statementTypeId: 0x3000 });
    } else {
      body = ok({
        ...base,
        rowtype: [rowtypeOf({ name: 'status', type: 'text' })],
        rowset: [[reply.message ?? 'Statement executed successfully.']],
        total: 1,
        returned: 1,
        statementTypeId: 0x6000,
      });
    }
    const stored = { body, chunks, pendingPolls };
    this.results.set(queryId, stored);
    return stored;
  }

  private result(queryId: string, res: http.ServerResponse): void {
    const stored = this.results.get(queryId);
    if (!stored) return json(res, fail('000709', `Statement ${queryId} not found`));
    // `inProgress: n`: the request itself and then n - 1 polls say "in progress"; the next poll answers
    if (stored.pendingPolls > 1) {
      stored.pendingPolls--;
      return json(res, { success: true, code: '333333', message: 'Query in progress', data: { queryId, getResultUrl: `/queries/${queryId}/result` } });
    }
    stored.pendingPolls = 0;
    json(res, stored.body);
  }

  private monitoring(queryId: string, res: http.ServerResponse): void {
    const stored = this.results.get(queryId);
    const status = !stored ? 'NO_DATA' : stored.pendingPolls > 0 ? 'RUNNING' : stored.body.success ? 'SUCCESS' : 'FAILED_WITH_ERROR';
    json(res, ok({ queries: stored ? [{ id: queryId, status, errorMessage: stored.body.success ? '' : stored.body.message }] : [] }));
  }

  private chunk(queryId: string, n: number, res: http.ServerResponse): void {
    this.chunkRequests++;
    const chunk = this.results.get(queryId)?.chunks[n];
    if (chunk === undefined) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(chunk);
  }
}

/** DDL as the transactions page counts it: statements that define objects (CTAS included), not ALTER SESSION. */
function isDdl(sql: string): boolean {
  const text = stripLeadingComments(sql);
  return /^(create|alter|drop|undrop|comment)\b/i.test(text) && !/^alter\s+session\b/i.test(text);
}

function stripLeadingComments(sql: string): string {
  return sql.replace(/^(\s*(--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/))*\s*/, '');
}

/**
 * INSERT ... VALUES whose value for a NOT NULL column is NULL (a NULL literal or a NULL bind): Snowflake
 * enforces NOT NULL (https://docs.snowflake.com/en/sql-reference/constraints-overview) and fails the
 * statement. Only plain single-table INSERT ... VALUES is read; binds are numbered in the order of the
 * placeholders of the VALUES rows.
 */
function nullsIntoNotNull(sql: string, binds: BindValue[], catalog: Catalog): Violation[] {
  if (!/^\s*insert\s+into\b/i.test(stripLeadingComments(sql)) || !/\bvalues\s*\(/i.test(sql)) return [];
  const parsed = parseSnowflake(sql);
  if (!('ast' in parsed)) return [];
  const insert = (parsed.ast[0] as { insert?: { table?: { name?: { name: string; quoted: boolean }; schema?: { name: string; quoted: boolean } | null }; columns?: { name: string; quoted: boolean }[]; values?: unknown[][]; query?: unknown } }).insert;
  if (!insert?.table?.name || !insert.columns?.length || !Array.isArray(insert.values) || insert.query) return [];
  const key = (id: { name: string; quoted: boolean }) => (id.quoted ? id.name : id.name.toUpperCase());
  const table = catalog.get(`${insert.table.schema ? key(insert.table.schema) : 'PUBLIC'}.${key(insert.table.name)}`);
  if (!table) return [];
  const notNull = new Set(table.columns.filter((c) => c.notNull).map((c) => c.name));
  const columns = insert.columns.map(key);
  const out: Violation[] = [];
  let bind = 0;
  for (const row of insert.values) {
    row.forEach((value, i) => {
      const v = value as Record<string, unknown>;
      const isPlaceholder = typeof v === 'object' && v !== null && 'placeholder' in v;
      const isNull = (typeof v === 'object' && v !== null && ('null' in v || (v.literal as { literal_type?: string } | undefined)?.literal_type === 'null')) || (isPlaceholder && binds[bind] === null);
      if (isPlaceholder) bind++;
      const column = columns[i];
      if (isNull && column && notNull.has(column)) {
        out.push({ rule: RULES.insertNotNull, message: `NULL for NOT NULL column ${column} of ${table.source}`, sql });
      }
    });
  }
  return out;
}

function copyRowset(files: CopyFileResult[]): Record<string, unknown> {
  if (files.length === 0) {
    return { rowtype: [rowtypeOf({ name: 'status', type: 'text' })], rowset: [['Copy executed with 0 files processed.']], total: 1, returned: 1 };
  }
  const columns: ColumnSpec[] = [
    { name: 'file', type: 'text' },
    { name: 'status', type: 'text' },
    { name: 'rows_parsed', type: 'fixed' },
    { name: 'rows_loaded', type: 'fixed' },
    { name: 'error_limit', type: 'fixed' },
    { name: 'errors_seen', type: 'fixed' },
    { name: 'first_error', type: 'text' },
    { name: 'first_error_line', type: 'fixed' },
    { name: 'first_error_character', type: 'fixed' },
    { name: 'first_error_column_name', type: 'text' },
  ];
  const rows = files.map((f) => [
    f.file,
    f.status,
    f.rowsParsed,
    f.rowsLoaded,
    f.rowsParsed,
    f.errorsSeen ?? f.rowsParsed - f.rowsLoaded,
    f.firstError ?? null,
    f.firstErrorLine ?? (f.firstError ? 1 : null),
    f.firstError ? 1 : null,
    f.firstError ? '"LANDING"[1]' : null,
  ]);
  return { rowtype: columns.map(rowtypeOf), rowset: encodeRows(columns, rows), total: rows.length, returned: rows.length };
}

function take<T>(scripts: Script<T>[], sql: string): T | undefined {
  for (const s of scripts) {
    if (s.remaining > 0 && s.pattern.test(sql)) {
      s.remaining--;
      return s.value;
    }
  }
  return undefined;
}

function decodeBinds(bindings: unknown): BindValue[] {
  if (!bindings || typeof bindings !== 'object') return [];
  const entries = Object.entries(bindings as Record<string, { type: string; value: unknown }>).sort(
    ([a], [b]) => Number(a) - Number(b),
  );
  return entries.map(([, b]) => {
    if (b.value === null || b.value === undefined) return null;
    const v = String(b.value);
    if (b.type === 'FIXED' || b.type === 'REAL') return Number(v);
    if (b.type === 'BOOLEAN') return v === 'true';
    return v;
  });
}

function ok(data: unknown): Record<string, unknown> {
  return { success: true, code: null, message: null, data };
}

function fail(code: string, message: string): Record<string, unknown> {
  return { success: false, code, message, data: { errorCode: code, internalError: false } };
}

function json(res: http.ServerResponse, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  let buf = Buffer.concat(parts);
  if (buf.length === 0) return {};
  // the driver gzips request bodies; its Content-Encoding header can disagree with the body
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  try {
    return JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------- conformance, for every test

let migrations: Catalog | undefined;

/** The tables of sql/snowflake/*.sql as migrate renders them (parsed once per test file). */
function migrationCatalog(): Catalog {
  if (!migrations) {
    migrations = new Catalog();
    for (const m of renderedMigrations()) {
      const parsed = parseSnowflake(m.sql);
      if ('ast' in parsed) migrations.learn(parsed.ast, `sql/snowflake/${m.file}`);
    }
  }
  return migrations;
}

const started = new Set<FakeSnowflake>();

// Any test file that uses the fake checks every statement it sent: a violation fails the test with the
// rule's name and documentation link (take them with fake.takeViolations() to expect one).
if (typeof afterEach === 'function') {
  afterEach(() => {
    const found = [...started].flatMap((f) => f.takeViolations());
    for (const f of started) if (f.closed) started.delete(f);
    if (found.length > 0) {
      throw new Error(
        `fake-snowflake: ${found.length} statement${found.length === 1 ? '' : 's'} broke Snowflake's documented rules ` +
          `(test/support/snowflake-rules):\n\n${found.map(formatViolation).join('\n\n')}`,
      );
    }
  });
}
