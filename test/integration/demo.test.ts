/**
 * `npm run demo` from a clean directory ends all green: every stage succeeds and every
 * data test passes, freshness included (its data used to end in 2020, so freshness warned on every
 * run). Run as a user runs it: the CLI in its own process, in a scratch LOCAL_DIR.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { scratchDir } from '../support/factories';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '..', '..');

it('a clean demo: every stage ok, every data test passed, none warned or failed', async () => {
  const scratch = scratchDir('sp-demo-');
  const today = () => new Date().toISOString().slice(0, 10);
  const dayBefore = today();
  try {
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'local/cli/demo.ts')], {
        cwd: ROOT,
        env: { ...process.env, LOCAL_DIR: scratch.dir, STAGE: 'local', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const timer = setTimeout(() => child.kill('SIGTERM'), 280_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout });
      });
    });
    expect(out.stdout).toContain('demo complete: every stage succeeded');
    expect(out.code).toBe(0);
    const tests = /Data tests \(run [^)]+\): (\d+) passed, (\d+) warned, (\d+) failed/.exec(out.stdout);
    expect(tests).not.toBeNull();
    expect({ warned: Number(tests![2]), failed: Number(tests![3]) }).toEqual({ warned: 0, failed: 0 });
    expect(Number(tests![1])).toBeGreaterThan(10);
    expect(out.stdout).toMatch(/PASS\s+\S+\s+freshness_transactions/);
    // the data ends today (UTC; a run across midnight may end on either day)
    const end = /transactions in \d+ daily files \(\d{4}-\d\d-\d\d to (\d{4}-\d\d-\d\d)\)/.exec(out.stdout)?.[1];
    expect([dayBefore, today()]).toContain(end);
  } finally {
    scratch.remove();
  }
});
