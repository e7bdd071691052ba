/**
 * Judge lanes (shared/ingest/landing/judge-lanes.ts): a worker lane writes exactly what the inline
 * lane writes for the same bytes, however they are chunked; a fatal verdict, a failing object stream
 * and a dying worker each fail only their file; the process exits when the work is done and not before.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { defaultRegistry } from '../../shared/datasets';
import { TransientError, UnreadableFileError } from '../../shared/errors';
import { InlineLane, judgeLanes, type Lane, type LaneBatch } from '../../shared/ingest/landing/judge-lanes';

const spec = defaultRegistry.spec('transactions');
let dir: string;
let batchNo = 0;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lanes-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function batch(): LaneBatch {
  const id = `b${++batchNo}`;
  fs.mkdirSync(path.join(dir, id));
  return {
    id,
    dir: path.join(dir, id),
    spec,
    limits: { maxLineBytes: 4096, maxFileBytes: 1 << 24 },
    recordTable: 0,
    tables: spec.tables.map((t) => ({ name: t.name, columns: [], skip: null })),
    quarantineColumns: [],
  };
}

function chunks(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

const tx = (id: number, items: number) =>
  JSON.stringify({
    customer_id: `C${id % 7}`,
    basket: Array.from({ length: items }, (_, k) => ({ product_id: `P${k}`, price: 1.25 * (k + 1) })),
    date_of_purchase: `2024-03-0${1 + (id % 9)} 10:00:0${id % 10}`,
  });

/** 300 transactions with 1..3 items, some bad lines among them; the valid count is known by construction. */
function file(seed: number): { bytes: Buffer; valid: number; bad: number } {
  const lines: string[] = [];
  let valid = 0;
  let bad = 0;
  for (let i = 0; i < 300; i++) {
    if (i % 37 === 5) {
      lines.push('{"customer_id": "C1", broken');
      bad++;
    } else if (i % 41 === 7) {
      lines.push(JSON.stringify({ customer_id: 'C1', basket: [], date_of_purchase: `2024-02-30 0${i % 10}:00:00` }));
      bad++;
    } else {
      lines.push(tx(seed * 1000 + i, 1 + (i % 3)));
      valid++;
    }
  }
  return { bytes: Buffer.from(lines.join('\n') + '\n'), valid, bad };
}

/** Every line each lane wrote for a batch, per output (tables, then the quarantine), sorted. */
async function written(lane: Lane, b: LaneBatch): Promise<string[][]> {
  const files = await lane.close(b.id);
  return [...files.tables, files.quarantine].map(({ file }) =>
    fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).sort() : [],
  );
}

describe('judge lanes', () => {
  it('a worker lane writes the same rows as the inline lane, for any chunking and for gzip', async () => {
    const [worker] = judgeLanes(1);
    expect(worker).not.toBeInstanceOf(InlineLane);
    const inline = new InlineLane(9);
    const a = batch();
    const b = batch();
    await inline.open(a);
    await worker!.open(b);
    const files = [file(1), file(2), file(3)];
    const inlineCounts = await Promise.all(files.map((f, i) => inline.judge(a.id, chunks(f.bytes, 4096), `k${i}.json`, i)));
    const workerCounts = await Promise.all([
      worker!.judge(b.id, chunks(files[0]!.bytes, 1), 'k0.json', 0),
      worker!.judge(b.id, chunks(files[1]!.bytes, 333), 'k1.json', 1),
      worker!.judge(b.id, chunks(gzipSync(files[2]!.bytes), 50), 'k2.json.gz', 2),
    ]);
    expect(workerCounts).toEqual(inlineCounts);
    expect(workerCounts.map((c) => [c.rows, c.quarantined])).toEqual(files.map((f) => [f.valid, f.bad]));
    const expected = await written(inline, a);
    expect(expected[0]!.length).toBe(files.reduce((n, f) => n + f.valid, 0));
    expect(await written(worker!, b)).toEqual(expected);
  });

  it('a fatal verdict fails its file with the reason, and the lane judges the next file', async () => {
    const [worker] = judgeLanes(1);
    const b = batch();
    await worker!.open(b);
    const long = Buffer.from(`${tx(1, 1)}\n{"customer_id": "${'x'.repeat(5000)}"}\n${tx(2, 1)}\n`);
    await expect(worker!.judge(b.id, chunks(long, 100), 'long.json', 0)).rejects.toThrow(UnreadableFileError);
    await expect(worker!.judge(b.id, chunks(long, 100), 'long.json', 0)).rejects.toThrow(/line 2 is longer than the ceiling of 4096 bytes/);
    const ok = file(4);
    expect((await worker!.judge(b.id, chunks(ok.bytes, 1000), 'ok.json', 1)).rows).toBe(ok.valid);
    await worker!.close(b.id);
  });

  it('an object stream that fails half-way fails with its own error; the lane goes on', async () => {
    const [worker] = judgeLanes(1);
    const b = batch();
    await worker!.open(b);
    const f = file(5);
    async function* dying() {
      yield f.bytes.subarray(0, 5000);
      throw new Error('socket hang up');
    }
    await expect(worker!.judge(b.id, dying(), 'dying.json', 0)).rejects.toThrow('socket hang up');
    expect((await worker!.judge(b.id, chunks(f.bytes, 2048), 'again.json', 1)).rows).toBe(f.valid);
    await worker!.close(b.id);
  });

  it('a worker that dies fails the files it had as transient, and an inline lane takes its place', async () => {
    const lanes = judgeLanes(1);
    const worker = lanes[0]! as Lane & { worker: { terminate(): Promise<number> } };
    const b = batch();
    await worker.open(b);
    const f = file(6);
    const stalled = new Readable({ read() {} });
    stalled.push(f.bytes.subarray(0, 100));
    const pending = worker.judge(b.id, stalled, 'stalled.json', 0);
    await new Promise((r) => setTimeout(r, 100));
    await worker.worker.terminate();
    await expect(pending).rejects.toThrow(TransientError);
    expect(judgeLanes(1)[0]).toBeInstanceOf(InlineLane);
  });

  it('the process exits once the lanes are idle, not while they still judge', async () => {
    const script = `
      const { Readable } = require('node:stream');
      const { judgeLanes } = require(${JSON.stringify(path.resolve(__dirname, '../../shared/ingest/landing/judge-lanes.ts'))});
      const { defaultRegistry } = require(${JSON.stringify(path.resolve(__dirname, '../../shared/datasets'))});
      const spec = defaultRegistry.spec('transactions');
      const [lane] = judgeLanes(2);
      const b = { id: 'x', dir: ${JSON.stringify(dir)}, spec, limits: { maxLineBytes: 4096, maxFileBytes: 1 << 24 }, recordTable: 0,
                  tables: spec.tables.map((t) => ({ name: t.name, columns: [], skip: null })), quarantineColumns: [] };
      lane.open(b)
        .then(() => lane.judge('x', Readable.from([Buffer.from(${JSON.stringify(file(7).bytes.toString())})]), 'k.json', 0))
        .then((c) => console.log('rows', c.rows));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
      timeout: 30_000,
      env: { ...process.env },
    });
    expect(stdout.trim()).toBe(`rows ${file(7).valid}`);
  });
});
