/**
 * An independent computation of the transfer's output, in plain TypeScript over the raw rows, for
 * tests to compare the warehouse's aggregation and the written files against. It shares no code
 * with shared/transfer: roles, blank rows, month truncation, grouping and sums are written again.
 *
 * Decimal columns are summed exactly (scaled BigInt), as the warehouse does, then converted to a
 * JS number the way the port does (nearest double); floating columns are compared with a tolerance.
 */
import type { ColumnInfo, Row } from '../../shared/warehouse/port';

export interface OracleOptions {
  /** Keep only these columns (and the month key); blank rows are still judged on every column. */
  columns?: string[];
  dateColumn?: string;
  sumColumns?: string[];
  groupColumns?: string[];
}

export type OracleRole = 'month_key' | 'month' | 'sum' | 'group';

export function oracleRoles(columns: ColumnInfo[], opts: OracleOptions = {}): Map<string, OracleRole> {
  const roles = new Map<string, OracleRole>();
  const isDate = (c: ColumnInfo) => c.kind === 'date' || c.kind === 'timestamp';
  const upper = (names?: string[]) => names?.map((n) => n.toUpperCase());
  const sums = upper(opts.sumColumns);
  const groups = upper(opts.groupColumns) ?? [];
  const keep = upper(opts.columns);
  const kept = (c: ColumnInfo) => keep === undefined || keep.includes(c.name.toUpperCase());
  const dateCandidates = columns.filter((c) => isDate(c) && !groups.includes(c.name.toUpperCase()));
  const key =
    columns.find(
      (c) => opts.dateColumn !== undefined && c.name.toUpperCase() === opts.dateColumn.toUpperCase(),
    ) ??
    dateCandidates.find(kept) ??
    dateCandidates[0];
  for (const c of columns) {
    if (!kept(c) && c !== key) continue;
    const name = c.name.toUpperCase();
    if (key && c.name === key.name) roles.set(c.name, 'month_key');
    else if (groups.includes(name)) roles.set(c.name, 'group');
    else if (isDate(c)) roles.set(c.name, 'month');
    else if (c.kind === 'number' && (sums === undefined || sums.includes(name))) roles.set(c.name, 'sum');
    else roles.set(c.name, 'group');
  }
  return roles;
}

const BLANK_TEXT = /^[ \t\n\r\v\f]*$/;

export function isBlankRow(row: Row, columns: ColumnInfo[]): boolean {
  return columns.every((c) => {
    const v = row[c.name];
    return (
      v === null || v === undefined || (c.kind === 'text' && typeof v === 'string' && BLANK_TEXT.test(v))
    );
  });
}

/** '2024-03-17 10:00:00' or '2024-03-17' -> '2024-03-01'. */
export function firstOfMonth(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const m = /^(\d{4})-(\d{2})-\d{2}/.exec(String(value));
  if (!m) throw new Error(`not a date: ${String(value)}`);
  return `${m[1]}-${m[2]}-01`;
}

function decimalScale(type: string): number | undefined {
  const m = /^(?:DECIMAL|NUMERIC|NUMBER)\(\s*\d+\s*,\s*(\d+)\s*\)/i.exec(type);
  if (m) return Number(m[1]);
  if (/INT/i.test(type)) return 0;
  return undefined; // floating point
}

/** Sum of the non-null values; null when there are none (SQL SUM). */
function sum(values: unknown[], type: string): number | null {
  const present = values.filter((v) => v !== null && v !== undefined).map(Number);
  if (present.length === 0) return null;
  const scale = decimalScale(type);
  if (scale === undefined) return present.reduce((a, b) => a + b, 0);
  const factor = 10n ** BigInt(scale);
  const total = present.reduce((acc, v) => acc + BigInt(Math.round(v * Number(factor))), 0n);
  // exact decimal text -> nearest double, as the port converts DECIMAL results
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const text =
    scale === 0 ? abs.toString() : `${abs / factor}.${(abs % factor).toString().padStart(scale, '0')}`;
  return Number(`${negative ? '-' : ''}${text}`);
}

/** The expected output rows (column order as the table), in no particular order. */
export function expectedTransfer(rows: Row[], tableColumns: ColumnInfo[], opts: OracleOptions = {}): Row[] {
  const roles = oracleRoles(tableColumns, opts);
  const columns = tableColumns.filter((c) => roles.has(c.name));
  const groups = new Map<string, { key: Row; members: Row[] }>();
  for (const row of rows) {
    if (isBlankRow(row, tableColumns)) continue;
    const key: Row = {};
    for (const c of columns) {
      const role = roles.get(c.name);
      if (role === 'sum') continue;
      key[c.name] =
        role === 'month_key' || role === 'month' ? firstOfMonth(row[c.name]) : (row[c.name] ?? null);
    }
    const id = JSON.stringify(columns.filter((c) => roles.get(c.name) !== 'sum').map((c) => key[c.name]));
    const group = groups.get(id) ?? { key, members: [] };
    group.members.push(row);
    groups.set(id, group);
  }
  return [...groups.values()].map(({ key, members }) => {
    const out: Row = {};
    for (const c of columns) {
      out[c.name] =
        roles.get(c.name) === 'sum'
          ? sum(
              members.map((m) => m[c.name]),
              c.type,
            )
          : key[c.name]!;
    }
    return out;
  });
}

/** Stable order for comparing two row multisets. */
export function sortRows(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => {
    const x = JSON.stringify(a);
    const y = JSON.stringify(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The partition a row belongs in, computed independently. */
export function expectedPartition(row: Row, monthKey: string): string {
  const v = row[monthKey];
  return v === null || v === undefined ? 'month=__null__' : `month=${String(v).slice(0, 7)}`;
}

/** Exact sum of decimal texts at `scale` ('1.5', '2.25' at 2 -> '3.75'), by scaled BigInt; null when none. */
export function exactDecimalSum(values: Array<string | number | null>, scale: number): string | null {
  const present = values.filter((v): v is string | number => v !== null && v !== undefined).map(String);
  if (present.length === 0) return null;
  const factor = 10n ** BigInt(scale);
  let total = 0n;
  for (const v of present) {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(v);
    if (!m) throw new Error(`not an exact number: ${v}`);
    const unscaled = BigInt(m[2]!) * factor + BigInt((m[3] ?? '').padEnd(scale, '0').slice(0, scale) || '0');
    total += m[1] ? -unscaled : unscaled;
  }
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const text = scale === 0 ? abs.toString() : `${abs / factor}.${(abs % factor).toString().padStart(scale, '0')}`;
  return `${negative ? '-' : ''}${text}`;
}
