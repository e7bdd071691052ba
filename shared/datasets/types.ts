/**
 * What a dataset is, declared once. A declaration names the files (a key pattern), how to read them
 * (CSV with a header, or JSON Lines), the fields with their types and rules, the raw tables the good
 * records become, and whether a newer file replaces the whole dataset (`snapshot`) or only what the
 * same key loaded before (`append`). Everything else follows from it: the quarantine rules
 * (shared/ingest/rules/), the raw DDL of both engines (shared/ingest/schema.ts), the load SQL
 * (shared/ingest/landing/), the ledger entries. How to add one: docs/EXTENDING.md.
 */

/** Types of a field's value, and the raw column that holds it. */
export type FieldType = 'text' | 'integer' | 'decimal' | 'timestamp';

export interface FieldDecl {
  /** Name in the file: the JSON key, or the CSV header column. */
  name: string;
  type: FieldType;
  /** Missing, null, or blank text: the record is quarantined (`missing <name>`). */
  required?: boolean;
  /** Text only: surrounding whitespace is removed before the value is checked and stored. */
  trim?: boolean;
  /** Decimal only: the raw column's precision and scale (default 18, 2). */
  precision?: number;
  scale?: number;
}

/** JSON Lines only: a field holding an array of objects, each checked against `item`. */
export interface ListFieldDecl {
  name: string;
  type: 'list';
  required?: boolean;
  item: FieldDecl[];
}

/**
 * Where a raw column's value comes from:
 *   - `'<field>'`: a field of the record (or, in an item table, of the item, or else of the record);
 *   - `{ recordId: true }`: `<key>:<line>`, the record's identity in its file;
 *   - `{ itemIndex: true }`: 1-based position of the item in its list (item tables);
 *   - `{ count: '<list field>' }`: number of items in a list field.
 */
export type ColumnSource = string | { recordId: true } | { itemIndex: true } | { count: string };

export interface ColumnDecl {
  name: string;
  from: ColumnSource;
}

export interface TableDecl {
  /** Raw table name (schema `raw`): readers see `raw.<name>`, a view of the live rows. */
  name: string;
  /** The grain, in words: written into the DDL. */
  grain: string;
  /** One row per item of this list field instead of one per record. */
  per?: string;
  columns: ColumnDecl[];
}

export interface DatasetDecl {
  /** Lower-case identifier; also the ledger's `dataset`. */
  name: string;
  /** Regular expression over the decoded object key (first dataset whose pattern matches wins). */
  keyPattern: string;
  format: 'csv' | 'jsonl';
  /** `snapshot`: the newest file is the whole dataset. `append`: each key's newest version counts. */
  kind: 'snapshot' | 'append';
  fields: (FieldDecl | ListFieldDecl)[];
  tables: TableDecl[];
}

/** Column types of the raw tables, per engine. */
export type ColumnType = FieldType | 'line';
