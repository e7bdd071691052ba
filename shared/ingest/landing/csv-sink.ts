/**
 * Judged rows on their way into DuckDB: one CSV file per raw table (and one for the quarantine) per
 * batch, written with back-pressure, then read by DuckDB's own multi-threaded CSV reader inside the
 * load's transaction (`insert into ... select ... from read_csv(...)`). Measured against DuckDB's
 * appender (bench ingest, docs/ARCHITECTURE.md §5): the appender's per-value calls cost more than
 * writing and reading the text.
 *
 * Fields are RFC 4180: text always quoted ('"' doubled), numbers and timestamps bare, NULL an empty
 * unquoted field; the reader is told `allow_quoted_nulls = false` so "" stays an empty string.
 * https://duckdb.org/docs/stable/data/csv/overview
 */
import fs from 'node:fs';
import path from 'node:path';

export type SinkType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'TIMESTAMP' | 'BOOLEAN';

export interface SinkColumn {
  name: string;
  type: SinkType;
}

const CHUNK_BYTES = 4 << 20;

export class CsvSink {
  /** Rows are encoded straight into this chunk (cheaper than joining strings: bench ingest). */
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private readonly out: fs.WriteStream;
  private failure: Error | undefined;
  rows = 0;

  constructor(
    readonly file: string,
    readonly columns: readonly SinkColumn[],
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.out = fs.createWriteStream(file, { flags: 'w', mode: 0o600 });
    this.out.on('error', (err) => (this.failure = err));
  }

  /**
   * One row: `values` in column order (those at the positions `skip` marks left out), then `tail`,
   * text already in CSV form (the row's constant columns). Buffered; `drain()` between chunks of work.
   */
  push(values: readonly unknown[], skip: readonly boolean[] | null = null, tail = ''): void {
    let line = '';
    let first = true;
    for (let i = 0; i < values.length; i++) {
      if (skip !== null && skip[i]) continue;
      if (!first) line += ',';
      first = false;
      const v = values[i];
      if (v === null || v === undefined) continue;
      if (typeof v === 'string') line += v.indexOf('"') === -1 ? '"' + v + '"' : '"' + v.replace(/"/g, '""') + '"';
      else line += String(v);
    }
    line += tail;
    // a UTF-16 unit takes at most 3 bytes in UTF-8
    if (this.used + line.length * 3 + 1 > this.chunk.length) {
      this.flush();
      if (line.length * 3 + 1 > this.chunk.length) this.chunk = Buffer.allocUnsafe(line.length * 3 + 1);
    }
    this.used += this.chunk.write(line, this.used, 'utf8');
    this.chunk[this.used++] = 10;
    this.rows++;
  }

  private flush(): boolean {
    if (this.used === 0) return true;
    const filled = this.chunk.subarray(0, this.used);
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES); // the stream keeps `filled` until it is written
    this.used = 0;
    return this.out.write(filled);
  }

  /** Wait until the written text is handed to the OS (back-pressure). */
  async drain(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.out.writableNeedDrain) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }

  async close(): Promise<void> {
    this.flush();
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failure) throw this.failure;
  }

  /** The `read_csv(...)` table expression for these files, all of these columns. */
  static readCsv(files: readonly string[], columns: readonly SinkColumn[], maxLineBytes: number): string {
    const cols = columns.map((c) => `'${c.name}': '${c.type}'`).join(', ');
    const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
    return (
      `read_csv([${list}], columns = {${cols}}, header = false, delim = ',', quote = '"', escape = '"', ` +
      `new_line = '\\n', auto_detect = false, allow_quoted_nulls = false, strict_mode = true, ` +
      `max_line_size = ${Math.max(2_097_152, maxLineBytes * 2 + 65_536)})`
    );
  }
}
