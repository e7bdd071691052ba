/**
 * The row rules of ingest, written once (docs/ARCHITECTURE.md §5). Both engines run this file:
 *   - DuckDB: a judge lane calls it line by line while it streams the object
 *     (shared/ingest/landing/judge-lanes.ts);
 *   - Snowflake: migrate embeds its bundle (sql/snowflake/generated/rules.js, built from this file by
 *     `npm run build:rules`) in one JavaScript table function per dataset, called once per landed line
 *     (shared/ingest/landing/stage-sql.ts).
 * So it imports nothing at run time and uses only what both JavaScript engines have (no Node APIs).
 *
 * A judge sees a file's physical lines in order and emits, through `emit`:
 *   - a row for a raw table (values in the table's column order; `recordId` columns are null, the
 *     writer composes `<key>:<line>`);
 *   - a quarantined line or CSV record (line number, raw text, reason); the rest of the file loads;
 *   - a fatal verdict: the file cannot be read as this dataset (wrong header, unclosed quote, binary,
 *     over a ceiling); nothing more is emitted and the whole file fails.
 * Each line is judged exactly once, and no more than one CSV record is held at a time.
 */
import type { JudgeSpec, SpecColumn, SpecField, SpecList, SpecTable } from './spec';

export const OUT_ROW = 0;
export const OUT_QUARANTINE = 1;
export const OUT_FATAL = 2;

/**
 * kind OUT_ROW: (table index, line, values). OUT_QUARANTINE: (-1, line, [raw text, reason]).
 * OUT_FATAL: (-1, line, [reason]).
 */
export type Emit = (kind: number, table: number, line: number, values: unknown[]) => void;

export interface Judge {
  /** The next physical line (without its '\n'); `lineNumber` is 1-based. */
  line(text: string | null, lineNumber: number): void;
  /** No more lines. */
  end(): void;
  /** True once a fatal verdict was emitted. */
  readonly failed: boolean;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?$/;
const CSV_INTEGER = /^\s*[+-]?\d{1,9}\s*$/;
const CSV_DECIMAL = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function daysIn(y: number, mo: number): number {
  if (mo === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' of a real calendar date and time, or null. Microseconds at most. */
export function parseTimestamp(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // the common, canonical form without a regular expression or a copy (most lines are exactly this)
  if (value.length === 19 && value.charCodeAt(10) === 32 && value.charCodeAt(4) === 45 && value.charCodeAt(7) === 45) {
    const y = digits(value, 0, 4);
    const mo = digits(value, 5, 7);
    const d = digits(value, 8, 10);
    const h = value.charCodeAt(13) === 58 && value.charCodeAt(16) === 58 ? digits(value, 11, 13) : -1;
    const mi = digits(value, 14, 16);
    const s = digits(value, 17, 19);
    if (y < 0 || h < 0 || mi < 0 || s < 0 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
    return d > daysIn(y, mo) ? null : value;
  }
  const m = TIMESTAMP.exec(value);
  if (!m) return null;
  const y = +m[1]!;
  const mo = +m[2]!;
  const d = +m[3]!;
  if (mo < 1 || mo > 12 || d < 1 || +m[4]! > 23 || +m[5]! > 59 || +m[6]! > 59) return null;
  if (d > daysIn(y, mo)) return null;
  const fraction = m[7] ? m[7].slice(0, 7) : '';
  return m[1] + '-' + m[2] + '-' + m[3] + ' ' + m[4] + ':' + m[5] + ':' + m[6] + fraction;
}

/** UTF-8 length of a string, counted only as far as `limit` (enough to know it is over). */
function utf8LengthOver(s: string, limit: number): boolean {
  if (s.length > limit) return true;
  if (s.length * 3 <= limit) return false;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
    if (n > limit) return true;
  }
  return false;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reason a field value is bad, phrased for a record field or for item `n` of list `list`. */
function reasonFor(f: SpecField, problem: 'missing' | 'invalid' | 'range', list: string | null, n: number): string {
  const at = list === null ? '' : list + ' item ' + n + ' ';
  if (problem === 'range') return at + f.name + ' out of range';
  switch (f.type) {
    case 'text':
      return list === null ? 'missing ' + f.name : at + 'without ' + f.name;
    case 'integer':
      return list === null ? f.name + ' is not an integer' : at + 'has non-integer ' + f.name;
    case 'decimal':
      return list === null ? f.name + ' is not a number' : at + 'has non-numeric ' + f.name;
    default:
      return list === null ? 'invalid ' + f.name : at + 'has invalid ' + f.name;
  }
}

/**
 * Check one value; the result is the stored value, or a Bad with the reason. JSON values keep their
 * JSON type (a number is never text and text never a number); CSV values are text and are parsed.
 */
class Bad {
  constructor(readonly reason: string) {}
}

function checkValue(f: SpecField, v: unknown, fromCsv: boolean, list: string | null, n: number): unknown {
  if (v === undefined || v === null || (fromCsv && v === '' && f.type !== 'text')) {
    return f.required ? new Bad(reasonFor(f, 'missing', list, n)) : null;
  }
  switch (f.type) {
    case 'text': {
      if (typeof v !== 'string') return new Bad(reasonFor(f, 'missing', list, n));
      const t = f.trim ? v.trim() : v;
      if (f.required && (f.trim ? t : t.trim()) === '') return new Bad(reasonFor(f, 'missing', list, n));
      return t;
    }
    case 'integer': {
      let x: number;
      if (fromCsv) {
        if (!CSV_INTEGER.test(v as string)) return new Bad(reasonFor(f, 'invalid', list, n));
        x = Number(v);
      } else {
        if (typeof v !== 'number' || !Number.isInteger(v)) return new Bad(reasonFor(f, 'invalid', list, n));
        x = v;
      }
      if (x > 2147483647 || x < -2147483648) return new Bad(reasonFor(f, 'range', list, n));
      return x;
    }
    case 'decimal': {
      let x: number;
      if (fromCsv) {
        if (!CSV_DECIMAL.test(v as string)) return new Bad(reasonFor(f, 'invalid', list, n));
        x = Number(v);
      } else {
        if (typeof v !== 'number') return new Bad(reasonFor(f, 'invalid', list, n));
        x = v;
      }
      if (!isFinite(x)) return new Bad(reasonFor(f, 'invalid', list, n));
      if (Math.abs(x) >= Math.pow(10, f.precision - f.scale)) return new Bad(reasonFor(f, 'range', list, n));
      return x;
    }
    default: {
      const t = parseTimestamp(v);
      return t === null ? new Bad(reasonFor(f, 'invalid', list, n)) : t;
    }
  }
}

interface CheckedRecord {
  /** Per field: the value, or for a list the array of checked items (each an array of values). */
  values: unknown[];
}

/** Check a record's fields in declaration order, list items after the record's own fields. */
function checkRecord(spec: JudgeSpec, get: (i: number) => unknown, fromCsv: boolean): CheckedRecord | Bad {
  const values = new Array<unknown>(spec.fields.length);
  for (let i = 0; i < spec.fields.length; i++) {
    const f = spec.fields[i]!;
    const v = get(i);
    if (f.type === 'list') {
      if (!Array.isArray(v)) {
        if (v === undefined || v === null ? f.required : true) return new Bad('missing ' + f.name);
        values[i] = [];
      } else values[i] = v;
      continue;
    }
    const checked = checkValue(f, v, fromCsv, null, 0);
    if (checked instanceof Bad) return checked;
    values[i] = checked;
  }
  for (let i = 0; i < spec.fields.length; i++) {
    const f = spec.fields[i]!;
    if (f.type !== 'list') continue;
    const list = f as SpecList;
    const raw = values[i] as unknown[];
    const items = new Array<unknown[]>(raw.length);
    for (let k = 0; k < raw.length; k++) {
      const item = raw[k];
      const obj = isPlainObject(item) ? item : undefined;
      const row = new Array<unknown>(list.item.length);
      for (let j = 0; j < list.item.length; j++) {
        const field = list.item[j]!;
        const checked = checkValue(field, obj ? obj[field.name] : undefined, false, list.name, k + 1);
        if (checked instanceof Bad) return checked;
        row[j] = checked;
      }
      items[k] = row;
    }
    values[i] = items;
  }
  return { values };
}

function columnValue(c: SpecColumn, record: unknown[], item: unknown[] | null, itemIndex: number): unknown {
  switch (c.kind) {
    case 'record':
      return record[c.index];
    case 'item':
      return item ? item[c.index] : null;
    case 'count':
      return (record[c.index] as unknown[]).length;
    case 'itemIndex':
      return itemIndex;
    default:
      return null;
  }
}

function emitRows(spec: JudgeSpec, emit: Emit, line: number, record: CheckedRecord): void {
  for (let t = 0; t < spec.tables.length; t++) {
    const table: SpecTable = spec.tables[t]!;
    const cols = table.columns;
    if (table.per < 0) {
      const values = new Array<unknown>(cols.length);
      for (let c = 0; c < cols.length; c++) values[c] = columnValue(cols[c]!, record.values, null, 0);
      emit(OUT_ROW, t, line, values);
      continue;
    }
    const items = record.values[table.per] as unknown[][];
    for (let k = 0; k < items.length; k++) {
      const values = new Array<unknown>(cols.length);
      for (let c = 0; c < cols.length; c++) values[c] = columnValue(cols[c]!, record.values, items[k]!, k + 1);
      emit(OUT_ROW, t, line, values);
    }
  }
}

/** Start judging one file of this dataset. */
export function createJudge(spec: JudgeSpec, emit: Emit): Judge {
  let failed = false;
  let bytes = 0;
  let lastLine = 0;
  const fail = (line: number, reason: string) => {
    failed = true;
    emit(OUT_FATAL, -1, line, [reason]);
  };
  const quarantine = (line: number, raw: string, reason: string) => emit(OUT_QUARANTINE, -1, line, [raw, reason]);
  const csv = spec.format === 'csv' ? csvRecords(spec, emit, quarantine, fail) : null;

  return {
    get failed() {
      return failed;
    },
    line(input: string | null, lineNumber: number) {
      if (failed) return;
      if (input === '') {
        // the commonest blank line, on its own path: a hostile file may hold hundreds of millions
        lastLine = lineNumber;
        if (++bytes > spec.maxFileBytes) return fail(lineNumber, 'file is larger than the ceiling of ' + spec.maxFileBytes + ' bytes');
        if (csv) csv.line('', lineNumber);
        return;
      }
      let text = input === null || input === undefined ? '' : String(input);
      lastLine = lineNumber;
      if (lineNumber === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
      bytes += text.length + 1;
      if (text.indexOf('\u0000') !== -1) return fail(lineNumber, 'not a text file (contains NUL bytes)');
      if (utf8LengthOver(text, spec.maxLineBytes)) {
        return fail(lineNumber, 'line ' + lineNumber + ' is longer than the ceiling of ' + spec.maxLineBytes + ' bytes');
      }
      // counted in UTF-16 units here (a lower bound of the bytes); the streaming reader counts bytes exactly
      if (bytes > spec.maxFileBytes) {
        return fail(lineNumber, 'file is larger than the ceiling of ' + spec.maxFileBytes + ' bytes');
      }
      if (csv) return csv.line(text, lineNumber);
      // JSON Lines: blank lines carry no data (neither loaded nor quarantined)
      if (text.charCodeAt(0) !== 123 && text.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return quarantine(lineNumber, text, 'invalid JSON');
      }
      if (!isPlainObject(value)) return quarantine(lineNumber, text, 'invalid JSON');
      const obj = value;
      const record = checkRecord(spec, (i) => obj[spec.fields[i]!.name], false);
      if (record instanceof Bad) return quarantine(lineNumber, text, record.reason);
      emitRows(spec, emit, lineNumber, record);
    },
    end() {
      if (!failed && csv) csv.end(lastLine);
    },
  };
}

/**
 * CSV records from physical lines, RFC 4180 as csv-parse reads it with `relax_quotes`,
 * `relax_column_count` and `skip_empty_lines`: '"' opens a quoted field only at its start; inside,
 * '""' is a quote and line breaks belong to the field; a closing quote followed by anything but ','
 * or the line end makes the whole field literal text; an empty line is no record. A record's line
 * number is the physical line it ends on (as csv-parse's `info.lines`). The first record is the
 * header and must name the declared fields in order (case and surrounding blanks aside).
 */
function csvRecords(
  spec: JudgeSpec,
  emit: Emit,
  quarantine: (line: number, raw: string, reason: string) => void,
  fail: (line: number, reason: string) => void,
) {
  const expected = spec.fields.map((f) => f.name);
  let header = true;
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let literal = false;
  let wasQuoted = false;
  let raw: string[] = [];
  let rawLength = 0;

  const record = (values: string[], rawText: string, line: number) => {
    if (header) {
      header = false;
      const names = values.map((h) => h.trim().toLowerCase());
      const same = names.length === expected.length && names.every((n, i) => n === expected[i]);
      if (!same) {
        fail(line, 'unexpected header ' + JSON.stringify(values.join(',')) + ', expected ' + JSON.stringify(expected.join(',')));
      }
      return;
    }
    if (values.length !== expected.length) {
      return quarantine(line, rawText, 'expected ' + expected.length + ' columns, found ' + values.length);
    }
    const checked = checkRecord(spec, (i) => values[i], true);
    if (checked instanceof Bad) return quarantine(line, rawText, checked.reason);
    emitRows(spec, emit, line, checked);
  };

  return {
    line(text: string, lineNumber: number) {
      if (quoted) {
        field += '\n'; // the line break inside a quoted field is part of its value
      } else {
        raw = [];
        rawLength = 0;
      }
      raw.push(text);
      rawLength += text.length + 1;
      if (utf8LengthOver(text, spec.maxLineBytes) || rawLength > spec.maxLineBytes) {
        return fail(lineNumber, 'a CSV record ending at line ' + lineNumber + ' is longer than the ceiling of ' + spec.maxLineBytes + ' bytes');
      }
      const len = text.length;
      let pos = 0;
      while (pos < len) {
        const c = text.charCodeAt(pos);
        if (quoted) {
          if (c === 34) {
            if (text.charCodeAt(pos + 1) === 34) {
              field += '"';
              pos += 2;
              continue;
            }
            quoted = false;
            if (pos + 1 < len && text.charCodeAt(pos + 1) !== 44) {
              field = '"' + field + '"';
              literal = true;
            }
            pos++;
            continue;
          }
          field += text[pos];
          pos++;
          continue;
        }
        if (c === 44) {
          fields.push(field);
          field = '';
          literal = false;
        } else if (c === 34 && field === '' && !literal) {
          quoted = true;
          wasQuoted = true;
        } else {
          field += text[pos];
        }
        pos++;
      }
      if (quoted) return; // the record goes on on the next line
      fields.push(field);
      const empty = fields.length === 1 && fields[0] === '' && !wasQuoted;
      const values = fields;
      fields = [];
      field = '';
      literal = false;
      wasQuoted = false;
      if (!empty) record(values, raw.join('\n'), lineNumber);
    },
    end(lastLine: number) {
      if (quoted) fail(lastLine, 'malformed CSV (quote not closed)');
    },
  };
}
