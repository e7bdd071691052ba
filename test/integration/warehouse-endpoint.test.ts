/**
 * The loopback warehouse endpoint runs any SQL, so only its owner may use it: a token
 * drawn at each start, kept in stack.json (mode 0600), JSON requests only, no CORS. The attack
 * reported: a page in a browser POSTs `text/plain` (no preflight) with SQL that writes a file and
 * reads /etc/passwd. And the CLIs, which find the endpoint through stack.json, still work.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, type Stack } from '../../local/stack';
import { ConfigError } from '../../shared/errors';
import { runningStack, STACK_FILE, type StackInfo } from '../../shared/warehouse/remote';
import { scratchDir } from '../support/factories';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');
let scratch: ReturnType<typeof scratchDir>;
let stackDir: string;
let stack: Stack;
let info: StackInfo;

beforeAll(async () => {
  scratch = scratchDir('sp-wh-');
  stackDir = path.join(scratch.dir, 'stack');
  fs.mkdirSync(stackDir, { recursive: true });
  // a stale state file from an older stack, readable by everyone: the start must replace it
  fs.writeFileSync(path.join(stackDir, STACK_FILE), JSON.stringify({ pid: 1, warehouseToken: 'old' }), { mode: 0o644 });
  fs.chmodSync(path.join(stackDir, STACK_FILE), 0o644);
  stack = await startStack({ dir: stackDir, s3Port: 0, sqsPort: 0, consume: false });
  info = JSON.parse(fs.readFileSync(path.join(stackDir, STACK_FILE), 'utf8')) as StackInfo;
});
afterAll(async () => {
  await stack?.stop();
  scratch?.remove();
});

const post = (op: string, body: string, headers: Record<string, string>) =>
  fetch(`${stack.warehouseUrl}/v1/${op}`, { method: 'POST', headers, body });
const auth = () => ({ authorization: `Bearer ${info.warehouseToken}` });

describe('the state file', () => {
  it('is rewritten at start, readable only by its owner, with a fresh token', () => {
    const stat = fs.statSync(path.join(stackDir, STACK_FILE));
    expect((stat.mode & 0o777).toString(8)).toBe('600');
    expect(info.pid).toBe(process.pid);
    expect(info.warehouseToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is not trusted when others may read it, or when another user owns it', () => {
    const dir = path.join(scratch.dir, 'other');
    fs.mkdirSync(dir);
    const file = path.join(dir, STACK_FILE);
    fs.writeFileSync(file, JSON.stringify({ ...info }), { mode: 0o600 });
    expect(runningStack(dir)).toBeUndefined(); // our own pid: the caller is the stack
    fs.chmodSync(file, 0o644);
    expect(() => runningStack(dir)).toThrow(ConfigError);
    expect(() => runningStack(dir)).toThrow(/not trusted.*mode 644/);
    fs.chmodSync(file, 0o620);
    expect(() => runningStack(dir)).toThrow(/not trusted/);
    if (process.getuid?.() === 0) {
      // as root (CI, this machine) the owner check can be exercised directly
      fs.chmodSync(file, 0o600);
      fs.chownSync(file, 12345, 12345);
      expect(() => runningStack(dir)).toThrow(/owned by uid 12345/);
    }
  });
});

describe('requests', () => {
  const attack = `copy (select * from read_text('/etc/passwd')) to '${'/tmp'}/sp-wh-pwned.csv'`;

  it('answers the token holder with JSON', async () => {
    const res = await post('query', JSON.stringify({ sql: 'select 41 + 1 as n' }), { ...auth(), 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ rows: [{ n: 42 }] });
  });

  it('refuses the reported attack: text/plain without a token, and text/plain with it', async () => {
    fs.rmSync('/tmp/sp-wh-pwned.csv', { force: true });
    const noToken = await post('execute', JSON.stringify({ sql: attack }), { 'content-type': 'text/plain' });
    expect(noToken.status).toBe(401);
    const withToken = await post('execute', JSON.stringify({ sql: attack }), { ...auth(), 'content-type': 'text/plain;charset=UTF-8' });
    expect(withToken.status).toBe(415);
    const form = await post('query', 'sql=select+1', { ...auth(), 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(fs.existsSync('/tmp/sp-wh-pwned.csv')).toBe(false);
  });

  it('refuses JSON without the token or with a wrong one (401)', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: info.warehouseToken }, { authorization: `Bearer ${info.warehouseToken}x` }]) {
      const res = await post('query', JSON.stringify({ sql: 'select 1' }), { ...headers, 'content-type': 'application/json' });
      expect(res.status).toBe(401);
    }
  });

  it('never answers a CORS preflight positively, and refuses requests from pages (Origin)', async () => {
    const preflight = await fetch(`${stack.warehouseUrl}/v1/query`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(405);
    expect([...preflight.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const fromPage = await post('query', JSON.stringify({ sql: 'select 1' }), { ...auth(), 'content-type': 'application/json', origin: 'http://evil.example' });
    expect(fromPage.status).toBe(403);
    expect(fromPage.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers garbage with an error and keeps serving', async () => {
    const json = { ...auth(), 'content-type': 'application/json' };
    const cases: [string, string][] = [
      ['query', '{not json'],
      ['query', '[1,2,3]'],
      ['query', 'null'],
      ['describe', '{}'],
      ['commit', '{"tx":"nope"}'],
      ['stream', '{"sql":"select * from no_such_table"}'],
      ['no-such-op', '{}'],
      ['query', JSON.stringify({ sql: 'select ?', params: [{ deep: [1, { x: 2 }] }] })],
    ];
    for (const [op, body] of cases) {
      const res = await post(op, body, json);
      expect([op, body, res.status >= 400 && res.status < 500]).toEqual([op, body, true]);
      await res.text();
    }
    const ok = await post('query', JSON.stringify({ sql: 'select 1 as one' }), json);
    expect(await ok.json()).toEqual({ rows: [{ one: 1 }] });
  });
});

describe('the CLIs find the endpoint through stack.json', () => {
  it('npm run query answers through the stack', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'local/cli/query.ts'), 'select 6 * 7 as answer', '--format', 'csv'],
        { cwd: ROOT, env: { ...process.env, STAGE: 'local', LOCAL_DIR: stackDir, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    expect(out.stderr).toBe('');
    expect(out).toMatchObject({ code: 0, stdout: 'answer\n42\n' });
  });
});
