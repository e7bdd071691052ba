/**
 * Row encoders: Row batches in, file bytes out, with back-pressure (`write` resolves only when the
 * encoder can take more), so memory stays flat however many rows flow through.
 *
 * - `jsonl.gz`: one JSON object per line, keys in column order, gzip (zlib stream).
 * - `csv.gz`: RFC 4180 CSV with a header; NULL is an empty field and an empty string is `""`, so
 *   the two stay distinguishable; gzip.
 * - `parquet`: @dsnp/parquetjs, one row group per 10,000 rows, SNAPPY pages. Numbers are INT64 when
 *   the engine type is an integer type, DOUBLE otherwise; dates are DATE, timestamps
 *   TIMESTAMP_MILLIS (naive UTC), booleans BOOLEAN, everything else UTF8. Loaded lazily.
 */
import { Transform, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { InvalidInputError } from '../errors';
import type { ColumnSpec, OutputFormat, Row } from './types';

export interface Encoder {
  /** The encoded bytes. */
  readonly output: Readable;
  /** Encode a batch; resolves when the encoder has room for more (back-pressure). */
  write(rows: Row[]): Promise<void>;
  /**
   * Bytes encoded so far, before gzip for the text formats (gzip's output lags its input by its
   * internal buffers, so it cannot drive a deterministic part rollover); parquet bytes written.
   */
  size(): number;
  /** Flush (gzip trailer, parquet footer) and end `output`. */
  end(): Promise<void>;
  destroy(err: Error): void;
}

export const FORMAT_INFO: Record<
  OutputFormat,
  { extension: string; contentType: string; contentEncoding?: string }
> = {
  // Content-Encoding is deliberately not set on .gz parts: consumers download the file as a file,
  // and a gzip Content-Encoding would make HTTP clients transparently inflate it.
  'jsonl.gz': { extension: 'jsonl.gz', contentType: 'application/x-ndjson' },
  'csv.gz': { extension: 'csv.gz', contentType: 'text/csv' },
  parquet: { extension: 'parquet', contentType: 'application/vnd.apache.parquet' },
};

export function createEncoder(
  format: OutputFormat,
  columns: ColumnSpec[],
  opts: { gzipLevel?: number } = {},
): Encoder {
  switch (format) {
    case 'jsonl.gz':
      return textEncoder(jsonLines(columns), opts.gzipLevel);
    case 'csv.gz':
      return textEncoder(csvLines(columns), opts.gzipLevel);
    case 'parquet':
      return parquetEncoder(columns);
    default:
      throw new InvalidInputError(
        `unknown format ${JSON.stringify(format)}: expected jsonl.gz, csv.gz or parquet`,
      );
  }
}

type Serialise = (rows: Row[], first: boolean) => string;

function jsonLines(columns: ColumnSpec[]): Serialise {
  const names = columns.map((c) => c.name);
  return (rows) => {
    let out = '';
    for (const row of rows) {
      // rebuild in column order so every line has the same key order, whatever the source did
      const ordered: Row = {};
      for (const name of names) ordered[name] = row[name] ?? null;
      out += JSON.stringify(ordered) + '\n';
    }
    return out;
  };
}

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, comma, CR or LF, quotes doubled.
 * NULL is an empty field and an empty string is `""`, so the two stay distinguishable.
 * Written here rather than with csv-stringify: this is the hot loop of a 27M-row transfer, and the
 * library's per-record machinery (cast hooks, option merging, arrays per record) cost about five
 * times as much per row, measured. Tests read the output back with csv-parse.
 * https://www.rfc-editor.org/rfc/rfc4180
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') {
    if (value === '') return '""';
    return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
  }
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return csvField(JSON.stringify(value));
}

const NEEDS_QUOTES = /[",\r\n]/;

function csvLines(columns: ColumnSpec[]): Serialise {
  const names = columns.map((c) => c.name);
  const header = names.map(csvField).join(',') + '\n';
  return (rows, first) => {
    let out = first ? header : '';
    for (const row of rows) {
      let line = '';
      for (let i = 0; i < names.length; i++) {
        if (i > 0) line += ',';
        line += csvField(row[names[i] as string]);
      }
      out += line + '\n';
    }
    return out;
  };
}

function textEncoder(serialise: Serialise, level = zlib.constants.Z_DEFAULT_COMPRESSION): Encoder {
  const gzip = zlib.createGzip({ level });
  let first = true;
  let size = 0;
  return {
    output: gzip,
    size: () => size,
    async write(rows) {
      if (rows.length === 0 && !first) return;
      const text = serialise(rows, first);
      first = false;
      size += Buffer.byteLength(text, 'utf8');
      if (!gzip.write(text)) await waitDrain(gzip);
    },
    async end() {
      // a CSV part always has its header, even when every batch was empty
      if (first) await this.write([]);
      await new Promise<void>((resolve, reject) => {
        gzip.once('error', reject);
        gzip.end(() => resolve());
      });
    },
    destroy: (err) => gzip.destroy(err),
  };
}

function waitDrain(stream: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.off('error', onError);
      stream.off('close', onClose);
      resolve();
    };
    const onError = (err: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      reject(err);
    };
    const onClose = () => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      reject(new Error('stream closed while waiting for drain'));
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

const INTEGER_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|BYTEINT|INT\d*)\b|^(NUMBER|DECIMAL|NUMERIC|FIXED)\(\s*\d+\s*,\s*0\s*\)/i;

type ParquetModule = typeof import('@dsnp/parquetjs');

/** Parquet field type for a column; exported for tests. */
export function parquetFieldType(
  column: ColumnSpec,
): 'INT64' | 'DOUBLE' | 'DATE' | 'TIMESTAMP_MILLIS' | 'BOOLEAN' | 'UTF8' {
  if (column.pseudonymised) return 'UTF8';
  switch (column.kind) {
    case 'number':
      return column.type && INTEGER_TYPE.test(column.type) ? 'INT64' : 'DOUBLE';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP_MILLIS';
    case 'boolean':
      return 'BOOLEAN';
    default:
      return 'UTF8';
  }
}

/** Port values are naive-UTC strings; parquet wants Date objects and real numbers. */
function parquetValue(value: unknown, type: ReturnType<typeof parquetFieldType>): unknown {
  if (value === null || value === undefined) return undefined; // optional field: absent
  switch (type) {
    case 'INT64':
      return typeof value === 'string' ? BigInt(value) : BigInt(Math.trunc(Number(value)));
    case 'DOUBLE':
      return Number(value);
    case 'DATE':
    case 'TIMESTAMP_MILLIS': {
      const text = String(value);
      const iso = text.length === 10 ? `${text}T00:00:00Z` : `${text.replace(' ', 'T')}Z`;
      const date = new Date(iso);
      if (Number.isNaN(date.getTime()))
        throw new InvalidInputError(`not a date/timestamp: ${JSON.stringify(value)}`);
      return date;
    }
    case 'BOOLEAN':
      return Boolean(value);
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

function parquetEncoder(columns: ColumnSpec[]): Encoder {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const parquet = require('@dsnp/parquetjs') as ParquetModule;
  const types = columns.map((c) => [c.name, parquetFieldType(c)] as const);
  const schema = new parquet.ParquetSchema(
    Object.fromEntries(
      types.map(([name, type]) => [name, { type, optional: true, compression: 'SNAPPY' as const }]),
    ),
  );
  // parquetjs awaits each write callback, which a Transform delays while its reader is behind:
  // that is the back-pressure. A row group (10,000 rows) is the most it buffers.
  let size = 0;
  const output = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      done(null, chunk);
    },
  });
  const writerPromise = parquet.ParquetWriter.openStream(
    schema,
    // the typings ask for fs.WriteStream's write/end; parquetjs only calls write(buf, cb) and end(cb)
    output as unknown as Parameters<ParquetModule['ParquetWriter']['openStream']>[1],
    { rowGroupSize: 10_000 },
  );
  return {
    output,
    size: () => size,
    async write(rows) {
      const writer = await writerPromise;
      for (const row of rows) {
        const record: Record<string, unknown> = {};
        for (const [name, type] of types) {
          const v = parquetValue(row[name], type);
          if (v !== undefined) record[name] = v;
        }
        await writer.appendRow(record);
      }
    },
    async end() {
      await (await writerPromise).close();
    },
    destroy: (err) => output.destroy(err),
  };
}
