/**
 * Where the browser tests get Chromium (test/support/browser.ts), so `npm test` passes after `npm ci`
 * alone: CHROMIUM_PATH, else Debian's, else the one inside @sparticuz/chromium; and a
 * clear failure, never a silent skip, when there is none.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findChromium } from '../support/browser';
import { scratchDir } from '../support/factories';

jest.setTimeout(120_000);

let scratch: ReturnType<typeof scratchDir>;
beforeAll(() => (scratch = scratchDir('sp-browser-')));
afterAll(() => scratch.remove());

it('takes CHROMIUM_PATH when it is an executable, and refuses one that is not', () => {
  const fake = path.join(scratch.dir, 'my-chromium');
  fs.writeFileSync(fake, '#!/bin/sh\n', { mode: 0o755 });
  expect(findChromium({ CHROMIUM_PATH: fake })).toEqual({ executablePath: fake, source: 'CHROMIUM_PATH' });
  fs.chmodSync(fake, 0o644);
  expect(() => findChromium({ CHROMIUM_PATH: fake })).toThrow(/CHROMIUM_PATH=.* is not an executable file/);
  expect(() => findChromium({ CHROMIUM_PATH: path.join(scratch.dir, 'absent') })).toThrow(/not an executable/);
});

it("takes Debian's chromium when it is installed", () => {
  const debian = path.join(scratch.dir, 'usr-bin-chromium');
  fs.writeFileSync(debian, '#!/bin/sh\n', { mode: 0o755 });
  expect(findChromium({}, debian).executablePath).toBe(debian);
});

it("without Debian's chromium, unpacks the one @sparticuz/chromium ships (no download) and it is an ELF executable", () => {
  const browser = findChromium({}, path.join(scratch.dir, 'no-such-chromium'));
  expect(browser.source).toMatch(/^@sparticuz\/chromium/);
  const head = Buffer.alloc(4);
  const fd = fs.openSync(browser.executablePath, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  expect(head.toString('latin1')).toBe('\x7fELF');
});

it('fails with what to do when no browser can be had', () => {
  // resolving from a directory without node_modules: the package cannot be found
  expect(() => findChromium({}, path.join(scratch.dir, 'no-such-chromium'), os.tmpdir())).toThrow(
    /no Chromium for the browser test.*Run npm ci, or apt-get install chromium, or set CHROMIUM_PATH/s,
  );
});
