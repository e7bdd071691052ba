/**
 * How Snowflake's REST API puts values on the wire in a JSON result set: every non-null cell is a
 * string, typed by the column's `rowtype` entry. The real `snowflake-sdk` decodes these, so the fake
 * must encode exactly like the service does:
 *   fixed          "123" / "1.50" (scale digits)      real      "1.5"
 *   text           as is                              boolean   "1" / "0"
 *   date           days since 1970-01-01              timestamp_ntz / _ltz  "<epoch seconds>.<scale digits>"
 *   variant, object, array   JSON text
 */
export type ColumnType =
  | 'text'
  | 'fixed'
  | 'real'
  | 'boolean'
  | 'date'
  | 'timestamp_ntz'
  | 'timestamp_ltz'
  | 'variant'
  | 'object'
  | 'array';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** fixed: digits after the point (0 = integer); timestamps: fractional digits (default 9). */
  scale?: number;
  precision?: number;
  nullable?: boolean;
}

/** The `rowtype` entry the service sends for a column. */
export function rowtypeOf(col: ColumnSpec): Record<string, unknown> {
  const scale = col.scale ?? (col.type.startsWith('timestamp') ? 9 : col.type === 'fixed' ? 0 : null);
  return {
    name: col.name,
    database: '',
    schema: '',
    table: '',
    nullable: col.nullable ?? true,
    type: col.type,
    scale,
    precision: col.precision ?? (col.type === 'fixed' ? 38 : col.type.startsWith('timestamp') ? 0 : null),
    byteLength: col.type === 'text' ? 16777216 : null,
    length: col.type === 'text' ? 16777216 : null,
    collation: null,
  };
}

/** Parse 'YYYY-MM-DD[ HH:MM:SS[.fffffffff]]' (naive, read as UTC) into epoch seconds + nanoseconds. */
function parseNaive(value: string): { seconds: bigint; nanos: bigint } {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?$/.exec(value);
  if (!m) throw new Error(`fake-snowflake: cannot encode ${JSON.stringify(value)} as a timestamp (want 'YYYY-MM-DD HH:MM:SS[.f]')`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  const nanos = BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  return { seconds: BigInt(ms / 1000), nanos };
}

/** Encode one JS value as the service would for `col`. */
export function encodeCell(value: unknown, col: ColumnSpec): string | null {
  if (value === null || value === undefined) return null;
  switch (col.type) {
    case 'text':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'fixed': {
      const scale = col.scale ?? 0;
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'string') return value;
      return scale > 0 ? Number(value).toFixed(scale) : BigInt(Math.trunc(Number(value))).toString();
    }
    case 'real':
      return String(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'date': {
      const { seconds } = parseNaive(String(value));
      return (seconds / 86400n).toString();
    }
    case 'timestamp_ntz':
    case 'timestamp_ltz': {
      const scale = col.scale ?? 9;
      const { seconds, nanos } = value instanceof Date ? { seconds: BigInt(Math.floor(value.getTime() / 1000)), nanos: BigInt(value.getTime() % 1000) * 1_000_000n } : parseNaive(String(value));
      if (scale === 0) return seconds.toString();
      const fraction = nanos.toString().padStart(9, '0').slice(0, scale);
      return `${seconds}.${fraction}`;
    }
    case 'variant':
    case 'object':
    case 'array':
      return JSON.stringify(value, null, 2);
  }
}

/** Rows given as objects (by column name) or arrays (by position) -> wire rowset. */
export function encodeRows(columns: ColumnSpec[], rows: ReadonlyArray<Record<string, unknown> | unknown[]>): (string | null)[][] {
  return rows.map((row) =>
    columns.map((col, i) => encodeCell(Array.isArray(row) ? row[i] : (row as Record<string, unknown>)[col.name], col)),
  );
}

/** Shorthands for tests: `col.text('FILE')`, `col.int('ROWS_LOADED')`, `col.ts('LOADED_AT')`. */
export const col = {
  text: (name: string): ColumnSpec => ({ name, type: 'text' }),
  int: (name: string): ColumnSpec => ({ name, type: 'fixed', scale: 0 }),
  decimal: (name: string, scale = 2, precision = 18): ColumnSpec => ({ name, type: 'fixed', scale, precision }),
  real: (name: string): ColumnSpec => ({ name, type: 'real' }),
  bool: (name: string): ColumnSpec => ({ name, type: 'boolean' }),
  date: (name: string): ColumnSpec => ({ name, type: 'date' }),
  ts: (name: string, scale = 9): ColumnSpec => ({ name, type: 'timestamp_ntz', scale }),
  ltz: (name: string, scale = 9): ColumnSpec => ({ name, type: 'timestamp_ltz', scale }),
  variant: (name: string): ColumnSpec => ({ name, type: 'variant' }),
};
