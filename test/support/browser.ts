/**
 * A headless Chromium for the tests that drive a real browser (the run report), found without any
 * setup beyond `npm ci`:
 *
 *   1. CHROMIUM_PATH, when set (it must then be an executable: a wrong path is an error, not a fallback);
 *   2. Debian's chromium at /usr/bin/chromium, when installed;
 *   3. the Chromium that the @sparticuz/chromium devDependency ships inside its npm package
 *      (brotli-compressed; unpacked to the OS temp dir on first use, nothing downloaded).
 *
 * If none can be had the caller fails with this message: a browser test is never skipped silently.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export interface Browser {
  executablePath: string;
  /** where it came from, for the test's log */
  source: string;
}

const DEBIAN = '/usr/bin/chromium';

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function findChromium(env: NodeJS.ProcessEnv = process.env, debianPath = DEBIAN, resolveFrom = __dirname): Browser {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} is not an executable file`);
    return { executablePath: fromEnv, source: 'CHROMIUM_PATH' };
  }
  if (executable(debianPath)) return { executablePath: debianPath, source: `Debian's chromium (${debianPath})` };
  // @sparticuz/chromium is an ES module: ask a plain Node process (jest runs CommonJS) to unpack it
  const script =
    "const { default: c } = await import('@sparticuz/chromium'); process.stdout.write(await c.executablePath());";
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: resolveFrom,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const unpacked = res.status === 0 ? res.stdout.trim() : '';
  if (unpacked && executable(unpacked)) return { executablePath: unpacked, source: `@sparticuz/chromium (${unpacked})` };
  throw new Error(
    `no Chromium for the browser test: CHROMIUM_PATH is not set, ${debianPath} is not installed, and the ` +
      `@sparticuz/chromium devDependency could not be unpacked (${(res.stderr || res.error?.message || 'no path').trim()}). ` +
      'Run npm ci, or apt-get install chromium, or set CHROMIUM_PATH.',
  );
}
