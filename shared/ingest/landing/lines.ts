/**
 * An object's physical lines as a stream, with bounded memory whatever the file's size or compression
 * ratio (docs/ARCHITECTURE.md §5, "bounded reading"):
 *   - gzip is recognised by its magic number (a `.gz` key that is not gzip is unreadable) and inflated
 *     as a stream; the inflated bytes are counted and the file fails past `maxFileBytes`;
 *   - lines are split on '\n' in the bytes; a line (or the tail of one) longer than `maxLineBytes` fails
 *     the file before it is ever held as a string;
 *   - every complete line must be UTF-8 (checked on the bytes, with node:buffer isUtf8) and free of NUL
 *     bytes: otherwise the file is not text.
 * A failure is an UnreadableFileError naming the file and the reason; the ledger records it.
 */
import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UnreadableFileError } from '../../errors';

export interface LineLimits {
  maxLineBytes: number;
  maxFileBytes: number;
}

/** Bytes of a file that are definitely gzip: its first two bytes are 1f 8b. */
function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

async function* inflated(body: Readable, key: string): AsyncGenerator<Buffer> {
  const it = body[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && (first.value as Buffer).length < 2) {
    const next = await it.next();
    if (next.done) break;
    first = { done: false, value: Buffer.concat([first.value as Buffer, next.value as Buffer]) };
  }
  if (first.done) return;
  const head = first.value as Buffer;
  async function* rest(): AsyncGenerator<Buffer> {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
  }
  if (!isGzip(head)) {
    if (/\.gz$/i.test(key) && head.length > 0) throw new UnreadableFileError(`${key}: named .gz but is not gzip data`);
    yield* rest();
    return;
  }
  const gunzip = createGunzip();
  const source = Readable.from(rest());
  let sourceError: unknown;
  source.on('error', (err) => {
    sourceError = err;
    gunzip.destroy(err);
  });
  source.pipe(gunzip); // back-pressure both ways; a consumer that stops early destroys both below
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (sourceError) throw sourceError;
    throw new UnreadableFileError(`${key}: corrupt gzip (${(err as Error).message})`);
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

/**
 * Calls `onLine` with each physical line (without '\n'; a trailing '\r' is left for the rules to strip)
 * and its 1-based number. A final line without '\n' counts; an empty file has no lines. A callback, not
 * an async iterator: a daily file has thousands of lines and a hostile one hundreds of millions.
 */
export async function readLines(
  body: Readable,
  key: string,
  limits: LineLimits,
  onLine: (text: string, lineNumber: number) => void,
  /** Awaited after each chunk: where a consumer applies back-pressure (e.g. waits for its writes). */
  afterChunk?: () => Promise<void> | void,
): Promise<number> {
  let carry: Buffer | undefined;
  let total = 0;
  let lineNumber = 0;
  const text = (bytes: Buffer, near: number): string => {
    if (bytes.indexOf(0) !== -1) throw new UnreadableFileError(`${key}: not a text file (contains NUL bytes, near line ${near})`);
    if (!isUtf8(bytes)) throw new UnreadableFileError(`${key}: not valid UTF-8 text (near line ${near})`);
    return bytes.toString('utf8');
  };
  const tooLong = (n: number) =>
    new UnreadableFileError(`${key}: line ${n} is longer than the ceiling of ${limits.maxLineBytes} bytes (INGEST_MAX_LINE_BYTES)`);

  for await (const chunk of inflated(body, key)) {
    total += chunk.length;
    if (total > limits.maxFileBytes) {
      throw new UnreadableFileError(`${key}: more than ${limits.maxFileBytes} bytes of text (INGEST_MAX_FILE_BYTES)`);
    }
    let start = 0;
    if (carry) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        if (carry.length + chunk.length > limits.maxLineBytes) throw tooLong(lineNumber + 1);
        carry = Buffer.concat([carry, chunk]);
        continue;
      }
      if (carry.length + nl > limits.maxLineBytes) throw tooLong(lineNumber + 1);
      const joined = Buffer.concat([carry, chunk.subarray(0, nl)]);
      carry = undefined;
      lineNumber++;
      onLine(text(joined, lineNumber), lineNumber);
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= start) {
      // the complete lines of this chunk, checked once as a whole, then cut at each '\n'
      const region = text(chunk.subarray(start, last), lineNumber + 1);
      let from = 0;
      for (;;) {
        const nl = region.indexOf('\n', from);
        const end = nl === -1 ? region.length : nl;
        lineNumber++;
        if (end - from > limits.maxLineBytes / 4 && Buffer.byteLength(region.slice(from, end)) > limits.maxLineBytes) {
          throw tooLong(lineNumber);
        }
        onLine(end === from ? '' : region.slice(from, end), lineNumber);
        if (nl === -1) break;
        from = nl + 1;
      }
      start = last + 1;
    }
    if (start < chunk.length) {
      if (chunk.length - start > limits.maxLineBytes) throw tooLong(lineNumber + 1);
      carry = Buffer.from(chunk.subarray(start));
    }
    if (afterChunk) await afterChunk();
  }
  if (carry && carry.length > 0) {
    lineNumber++;
    onLine(text(carry, lineNumber), lineNumber);
  }
  return lineNumber;
}
