/**
 * Row encoders: Row batches in, file bytes out, with back-pressure (`write` resolves only when the
 * encoder can take more), so memory stays flat however many rows flow through.
 *
 * Every column is written as its one written type (`writtenType`: the column's `output_type`, or
 * derived from its kind and engine type), whatever JS type a value arrives as, and exact numbers stay
 * exact: an integer or decimal value may arrive as its exact text (see the port's `exactNumbers`).
 *
 * - `jsonl.gz`: one JSON object per line, keys in column order, gzip (zlib stream). INTEGER, BIGINT
 *   and DECIMAL values are JSON numbers with exactly their digits (`99999999999999999.90`: JSON
 *   numbers have arbitrary precision; a reader that wants them exact parses them as decimals).
 * - `csv.gz`: RFC 4180 CSV with a header; NULL is an empty field and an empty string is `""`, so
 *   the two stay distinguishable; numbers as their digits; gzip.
 * - `parquet`: @dsnp/parquetjs, one row group per 10,000 rows, SNAPPY pages. INTEGER and BIGINT are
 *   INT64, DECIMAL(p,s) the DECIMAL logical type (16-byte two's complement, so precision up to 38),
 *   DOUBLE is DOUBLE; dates are DATE, timestamps TIMESTAMP_MILLIS (naive UTC), booleans BOOLEAN,
 *   everything else UTF8. Loaded lazily.
 *   https://github.com/apache/parquet-format/blob/master/LogicalTypes.md#decimal
 */
import { Transform, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { InvalidInputError, TerminalError } from '../errors';
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

/** The one type a column is written as. */
export interface WrittenType {
  type: 'INTEGER' | 'BIGINT' | 'DECIMAL' | 'DOUBLE' | 'DATE' | 'TIMESTAMP' | 'BOOLEAN' | 'VARCHAR';
  precision?: number;
  scale?: number;
}

const INTEGER_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|BYTEINT|INT\d*)$/i;

export function writtenType(column: ColumnSpec): WrittenType {
  if (column.pseudonymised) return { type: 'VARCHAR' };
  const declared = column.output_type?.trim().toUpperCase();
  if (declared) {
    const decimal = /^DECIMAL\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(declared);
    if (decimal) return { type: 'DECIMAL', precision: Number(decimal[1]), scale: Number(decimal[2]) };
    if (/^(INTEGER|BIGINT|DOUBLE|DATE|TIMESTAMP|BOOLEAN|VARCHAR)$/.test(declared)) {
      return { type: declared as WrittenType['type'] };
    }
    throw new InvalidInputError(`column ${column.name}: unknown output_type ${JSON.stringify(column.output_type)}`);
  }
  switch (column.kind) {
    case 'number': {
      const type = (column.type ?? '').trim();
      if (INTEGER_TYPE.test(type)) return { type: 'BIGINT' };
      const m = /^(NUMBER|DECIMAL|NUMERIC|FIXED)\(\s*(\d+)\s*,\s*(\d+)\s*\)$/i.exec(type);
      if (m) return { type: 'DECIMAL', precision: Number(m[2]), scale: Number(m[3]) };
      return { type: 'DOUBLE' };
    }
    case 'date':
      return { type: 'DATE' };
    case 'timestamp':
      return { type: 'TIMESTAMP' };
    case 'boolean':
      return { type: 'BOOLEAN' };
    default:
      return { type: 'VARCHAR' };
  }
}

const EXACT_NUMBER = /^-?\d+(\.\d+)?$/;

/** The JSON text of an exact number, from a JS number or from its exact text. */
function exactNumberJson(value: unknown, column: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' && EXACT_NUMBER.test(value)) return value;
  throw new TerminalError(`column ${column}: ${JSON.stringify(value)} is not a number`);
}

function jsonLines(columns: ColumnSpec[]): Serialise {
  // keys rendered once; values by their column's written type, so a column has one JSON type
  const fields = columns.map((c) => {
    const written = writtenType(c).type;
    const exact = written === 'INTEGER' || written === 'BIGINT' || written === 'DECIMAL';
    return { name: c.name, key: JSON.stringify(c.name) + ':', exact };
  });
  return (rows) => {
    let out = '';
    for (const row of rows) {
      let line = '{';
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        const v = row[f.name];
        if (i > 0) line += ',';
        line += f.key;
        line += v === null || v === undefined ? 'null' : f.exact ? exactNumberJson(v, f.name) : JSON.stringify(v);
      }
      out += line + '}\n';
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

type ParquetModule = typeof import('@dsnp/parquetjs');

export interface ParquetField {
  type: 'INT64' | 'DOUBLE' | 'DECIMAL' | 'DATE' | 'TIMESTAMP_MILLIS' | 'BOOLEAN' | 'UTF8';
  precision?: number;
  scale?: number;
  /** DECIMAL: 16-byte FIXED_LEN_BYTE_ARRAY, enough for precision 38. */
  typeLength?: number;
}

/** Parquet field of a column; exported for tests. */
export function parquetFieldType(column: ColumnSpec): ParquetField {
  const written = writtenType(column);
  switch (written.type) {
    case 'INTEGER':
    case 'BIGINT':
      return { type: 'INT64' };
    case 'DECIMAL':
      if ((written.precision ?? 0) > 38) {
        throw new InvalidInputError(`column ${column.name}: parquet decimals hold at most 38 digits`);
      }
      return { type: 'DECIMAL', precision: written.precision, scale: written.scale, typeLength: 16 };
    case 'DOUBLE':
      return { type: 'DOUBLE' };
    case 'DATE':
      return { type: 'DATE' };
    case 'TIMESTAMP':
      return { type: 'TIMESTAMP_MILLIS' };
    case 'BOOLEAN':
      return { type: 'BOOLEAN' };
    default:
      return { type: 'UTF8' };
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The unscaled integer of an exact decimal value at `scale` ('-12.5', 2 -> -1250n). */
function unscaled(value: unknown, scale: number, column: string): bigint {
  const text = typeof value === 'number' && Number.isFinite(value) ? value.toFixed(scale) : String(value);
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new TerminalError(`column ${column}: ${JSON.stringify(value)} is not a number`);
  const fraction = m[3] ?? '';
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) {
    throw new TerminalError(`column ${column}: ${text} has more than ${scale} fraction digits`);
  }
  const digits = BigInt(m[2]! + fraction.slice(0, scale).padEnd(scale, '0'));
  return m[1] ? -digits : digits;
}

/** Big-endian two's complement in `length` bytes, as Parquet stores DECIMAL in a fixed-length array. */
function twosComplement(n: bigint, length: number, column: string): Buffer {
  const bits = BigInt(length * 8);
  if (n >= 2n ** (bits - 1n) || n < -(2n ** (bits - 1n))) {
    throw new TerminalError(`column ${column}: ${n} does not fit a ${length}-byte decimal`);
  }
  let v = n < 0n ? (1n << bits) + n : n;
  const out = Buffer.alloc(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Port values are naive-UTC strings or exact number text; parquet wants Dates, bigints, buffers. */
function parquetValue(value: unknown, field: ParquetField, column: string): unknown {
  if (value === null || value === undefined) return undefined; // optional field: absent
  switch (field.type) {
    case 'INT64': {
      const n = unscaled(value, 0, column);
      if (n < INT64_MIN || n > INT64_MAX) throw new TerminalError(`column ${column}: ${n} does not fit INT64`);
      return n;
    }
    case 'DECIMAL':
      return twosComplement(unscaled(value, field.scale ?? 0, column), field.typeLength ?? 16, column);
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
      types.map(([name, field]) => [name, { ...field, optional: true, compression: 'SNAPPY' as const }]),
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
        for (const [name, field] of types) {
          const v = parquetValue(row[name], field, name);
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
