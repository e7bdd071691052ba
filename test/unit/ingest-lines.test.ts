/**
 * Reading an object's lines as a stream within the ceilings (shared/ingest/landing/lines.ts): the
 * same lines as splitting the whole text, whatever the chunking; unreadable files named with a reason.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { UnreadableFileError } from '../../shared/errors';
import { readLines } from '../../shared/ingest/landing/lines';

const LIMITS = { maxLineBytes: 1024, maxFileBytes: 1 << 20 };

/** The body as a stream of chunks of `size` bytes (1: every byte its own chunk). */
function body(bytes: Buffer, size = 7): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

async function lines(bytes: Buffer, key = 'a.json', size = 7, limits = LIMITS): Promise<[string, number][]> {
  const out: [string, number][] = [];
  await readLines(body(bytes, size), key, limits, (text, n) => out.push([text, n]));
  return out;
}

/** The independent expectation: split the decoded text. */
function split(text: string): [string, number][] {
  if (text === '') return [];
  const parts = text.split('\n');
  if (text.endsWith('\n')) parts.pop();
  return parts.map((p, i) => [p, i + 1]);
}

describe('readLines', () => {
  it.each([1, 2, 3, 7, 64, 4096])('gives the lines of the text, whatever the chunk size (%i bytes)', async (size) => {
    const text = 'first\r\n\nsé€cond 😀 line\n\n\nlast without newline';
    expect(await lines(Buffer.from(text), 'a.json', size)).toEqual(split(text));
    expect(await lines(Buffer.from(text + '\n'), 'a.json', size)).toEqual(split(text + '\n'));
  });

  it('reads an empty file as no lines, and a file of newlines as that many empty lines', async () => {
    expect(await lines(Buffer.alloc(0))).toEqual([]);
    expect(await lines(Buffer.from('\n\n\n'))).toEqual([
      ['', 1],
      ['', 2],
      ['', 3],
    ]);
  });

  it('inflates gzip by its magic number, under any key', async () => {
    const text = 'a\nb\n'.repeat(1000);
    expect(await lines(gzipSync(text), 'x.json.gz', 100)).toEqual(split(text));
    expect(await lines(gzipSync(text), 'x.json', 100)).toEqual(split(text));
  });

  it.each([
    ['a corrupt gzip', Buffer.concat([gzipSync('hello world\n'.repeat(50)).subarray(0, 20), Buffer.from('garbage')]), 'a.json.gz', /corrupt gzip/],
    ['a .gz name without gzip data', Buffer.from('plain\n'), 'a.json.gz', /named \.gz but is not gzip/],
    ['binary data', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x0a]), 'a.json', /not a text file \(contains NUL bytes/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), 'a.json', /not valid UTF-8/],
    ['invalid UTF-8 in a last line without newline', Buffer.from([0x61, 0x0a, 0xc3]), 'a.json', /not valid UTF-8/],
  ])('names %s as unreadable', async (_what, bytes, key, message) => {
    const error = await lines(bytes, key).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(key);
  });

  it.each([
    ['in one chunk', 4096],
    ['across chunks', 100],
  ])('fails a file with a line over the ceiling %s, before holding it', async (_what, size) => {
    const text = `short\n${'x'.repeat(2000)}\nshort\n`;
    await expect(lines(Buffer.from(text), 'a.json', size)).rejects.toThrow(/a\.json: line 2 is longer than the ceiling of 1024 bytes/);
    await expect(lines(Buffer.from('x'.repeat(5000)), 'a.json', size)).rejects.toThrow(/line 1 is longer than the ceiling/);
  });

  it('fails a file whose decompressed bytes exceed the ceiling (a gzip bomb), early', async () => {
    const bomb = gzipSync(Buffer.from('\n'.repeat(8 << 20))); // 8 MiB of newlines in a few KiB
    expect(bomb.length).toBeLessThan(64 * 1024);
    let seen = 0;
    const error = await readLines(body(bomb, 1024), 'bomb.json.gz', LIMITS, () => seen++).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect((error as Error).message).toMatch(/bomb\.json\.gz: more than 1048576 bytes of text/);
    expect(seen).toBeLessThanOrEqual(LIMITS.maxFileBytes);
  });
});
