/**
 * The row rules' input: a dataset declaration compiled into plain JSON (JudgeSpec), so that the one
 * rules module (./judge.ts) can run it in Node (DuckDB path) and, embedded as a literal, inside the
 * Snowflake table function that migrate creates (shared/ingest/landing/stage-sql.ts).
 */
import type { DatasetDecl, FieldDecl, ListFieldDecl } from '../../datasets/types';
import { InvalidInputError } from '../../errors';

export interface SpecField {
  name: string;
  type: 'text' | 'integer' | 'decimal' | 'timestamp';
  required: boolean;
  trim: boolean;
  /** decimal only: the raw column's type; |value| must stay below 10^(precision - scale). */
  precision: number;
  scale: number;
}

export interface SpecList {
  name: string;
  type: 'list';
  required: boolean;
  item: SpecField[];
}

/**
 * A raw column's value: 'record' = a field of the record (index into `fields`), 'item' = a field of
 * the list item (index into the list's `item`), 'count' = items in a list field (index into `fields`),
 * 'itemIndex' = 1-based item position, 'recordId' = `<key>:<line>` (composed by the writer, which
 * knows the key: the judge emits null there).
 */
export interface SpecColumn {
  name: string;
  kind: 'record' | 'item' | 'count' | 'itemIndex' | 'recordId';
  index: number;
  type: 'text' | 'integer' | 'decimal' | 'timestamp';
  /** decimal only */
  precision: number;
  scale: number;
}

export interface SpecTable {
  name: string;
  /** Index into `fields` of the list field this table has one row per item of; -1: one per record. */
  per: number;
  columns: SpecColumn[];
}

export interface JudgeLimits {
  /** A physical line (or a CSV record) longer than this, in UTF-8 bytes, makes the file unreadable. */
  maxLineBytes: number;
  /** More than this many bytes of text in one file makes it unreadable. */
  maxFileBytes: number;
}

export interface JudgeSpec extends JudgeLimits {
  dataset: string;
  format: 'csv' | 'jsonl';
  fields: (SpecField | SpecList)[];
  tables: SpecTable[];
}

export const DEFAULT_LIMITS: JudgeLimits = {
  maxLineBytes: 1024 * 1024,
  maxFileBytes: 2 * 1024 * 1024 * 1024,
};

function specField(f: FieldDecl, where: string): SpecField {
  const precision = f.type === 'decimal' ? (f.precision ?? 18) : 0;
  const scale = f.type === 'decimal' ? (f.scale ?? 2) : 0;
  if (f.type === 'decimal' && !(precision > 0 && precision <= 38 && scale >= 0 && scale <= precision)) {
    throw new InvalidInputError(`${where}: decimal(${precision}, ${scale}) is not a valid decimal type`);
  }
  if ((f.precision !== undefined || f.scale !== undefined) && f.type !== 'decimal') {
    throw new InvalidInputError(`${where}: precision and scale apply to decimal fields only`);
  }
  if (f.trim && f.type !== 'text') throw new InvalidInputError(`${where}: trim applies to text fields only`);
  return { name: f.name, type: f.type, required: f.required === true, trim: f.trim === true, precision, scale };
}

/** Compile a declaration into the judge's JSON spec; a declaration that cannot work is refused here. */
export function compileSpec(decl: DatasetDecl, limits: JudgeLimits = DEFAULT_LIMITS): JudgeSpec {
  const where = `dataset ${decl.name}`;
  const fields: (SpecField | SpecList)[] = decl.fields.map((f) => {
    if (f.type === 'list') {
      if (decl.format !== 'jsonl') throw new InvalidInputError(`${where}: list field ${f.name} needs format jsonl`);
      const list = f as ListFieldDecl;
      return { name: list.name, type: 'list', required: list.required === true, item: list.item.map((i) => specField(i, `${where}.${f.name}`)) };
    }
    return specField(f, `${where}.${f.name}`);
  });
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new InvalidInputError(`${where}: field ${f.name} is declared twice`);
    names.add(f.name);
  }
  if (!decl.tables.some((t) => t.per === undefined)) {
    throw new InvalidInputError(`${where}: needs a table with one row per record (its rows count a file's loaded records)`);
  }
  const indexOf = (name: string) => fields.findIndex((f) => f.name === name);
  const tables: SpecTable[] = decl.tables.map((t) => {
    const per = t.per === undefined ? -1 : indexOf(t.per);
    const list = per >= 0 ? (fields[per] as SpecList) : undefined;
    if (t.per !== undefined && (per < 0 || fields[per]!.type !== 'list')) {
      throw new InvalidInputError(`${where}: table ${t.name} is per ${t.per}, which is not a list field`);
    }
    const columns = t.columns.map((c): SpecColumn => {
      const base = { name: c.name, precision: 0, scale: 0 };
      const typed = (f: SpecField) => ({ type: f.type, precision: f.precision, scale: f.scale });
      if (typeof c.from === 'string') {
        const itemIndex = list ? list.item.findIndex((i) => i.name === c.from) : -1;
        if (itemIndex >= 0) {
          const f = list!.item[itemIndex]!;
          return { ...base, ...typed(f), kind: 'item', index: itemIndex };
        }
        const index = indexOf(c.from);
        const f = fields[index];
        if (!f) throw new InvalidInputError(`${where}: column ${t.name}.${c.name} reads field ${c.from}, which is not declared`);
        if (f.type === 'list') throw new InvalidInputError(`${where}: column ${t.name}.${c.name} reads list ${c.from}: use { count } or a table per item`);
        return { ...base, ...typed(f), kind: 'record', index };
      }
      if ('recordId' in c.from) return { ...base, kind: 'recordId', index: -1, type: 'text' };
      if ('itemIndex' in c.from) {
        if (!list) throw new InvalidInputError(`${where}: column ${t.name}.${c.name} is an item index, but ${t.name} is not per item`);
        return { ...base, kind: 'itemIndex', index: -1, type: 'integer' };
      }
      const index = indexOf(c.from.count);
      if (index < 0 || fields[index]!.type !== 'list') {
        throw new InvalidInputError(`${where}: column ${t.name}.${c.name} counts ${c.from.count}, which is not a list field`);
      }
      return { ...base, kind: 'count', index, type: 'integer' };
    });
    return { name: t.name, per, columns };
  });
  return { dataset: decl.name, format: decl.format, fields, tables, ...limits };
}
