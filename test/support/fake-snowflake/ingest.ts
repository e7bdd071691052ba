/**
 * Scripts the fake Snowflake to answer the ingest loader's statements the way the real service would
 * for a given set of landed files, so driver-level tests can run the real SnowflakeLoader (and the
 * real ingest handler) end to end:
 *
 *   const landing = scriptIngest(fake, { 'transactions/d=2024-01-01/a.json': text, ... });
 *   landing.copyStatus.set('bad.json', { status: 'PARTIALLY_LOADED', firstError: 'Invalid UTF8 detected' });
 *   landing.alreadyLanded.add('old.json');               // COPY skips it (load metadata); history says Loaded
 *
 * The row rules are answered with shared/ingest/parse.ts, which the Snowflake UDFs are proven to match
 * line for line (test/unit/snowflake-udfs.test.ts); the fake itself runs no SQL.
 */
import type { Dataset } from '../../../shared/config';
import { UnreadableFileError } from '../../../shared/errors';
import { decodeObject, parseFile } from '../../../shared/ingest/parse';
import { col, type CopyFileResult, type FakeSnowflake, type QueryContext } from './index';

export interface IngestScript {
  /** Per key: the COPY result to report instead of LOADED. */
  copyStatus: Map<string, Partial<CopyFileResult>>;
  /** Keys COPY skips as already loaded; COPY_HISTORY reports them with `historyStatus` (default 'Loaded'). */
  alreadyLanded: Set<string>;
  historyStatus: Map<string, string>;
  /** Keys whose history appears only after N COPY_HISTORY queries (pipe mode); Infinity: never. */
  historyAfter: Map<string, number>;
  /** Keys whose landing lines are gone (e.g. consumed by an earlier version with the same bytes). */
  noLandedLines: Set<string>;
  /** Upload time of every object, for COPY_HISTORY's last_load_time. */
  lastModified: Map<string, string>;
}

function parsed(dataset: Dataset, key: string, bytes: Buffer) {
  try {
    return { ok: true as const, file: parseFile(dataset, decodeObject(bytes, key), key) };
  } catch (err) {
    if (err instanceof UnreadableFileError) return { ok: false as const, reason: err.message.replace(`${key}: `, '') };
    throw err;
  }
}

function datasetOf(sql: string): Dataset {
  const m = /(?:landing_|raw\.)(transactions|customers|products)\b/i.exec(sql) ?? /parse_snapshot_csv\('(customers|products)'/i.exec(sql);
  if (!m) throw new Error(`fake ingest: no dataset in ${sql.slice(0, 80)}`);
  return (m[1] as string).toLowerCase() as Dataset;
}

export function scriptIngest(fake: FakeSnowflake, files: Record<string, string | Buffer>): IngestScript {
  const script: IngestScript = {
    copyStatus: new Map(),
    alreadyLanded: new Set(),
    historyStatus: new Map(),
    historyAfter: new Map(),
    noLandedLines: new Set(),
    lastModified: new Map(),
  };
  const bytesOf = (key: string): Buffer => {
    const content = files[key];
    if (content === undefined) throw new Error(`fake ingest: no file ${key}`);
    return Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  };
  const lineCount = (key: string) => {
    if (script.noLandedLines.has(key)) return 0;
    const text = bytesOf(key).toString('utf8');
    if (text === '') return 0;
    return text.replace(/\n$/, '').split('\n').length;
  };
  let historyQueries = 0;

  fake.reply(/^copy into \S+\.raw\.landing_/i, (q: QueryContext) => {
    const keys = [...q.sql.matchAll(/'((?:[^'\\]|''|\\.)*)'/g)]
      .map((m) => (m[1] as string).replace(/''/g, "'").replace(/\\\\/g, '\\'))
      .filter((k) => k in files);
    return {
      copy: keys
        .filter((k) => !script.alreadyLanded.has(k))
        .map((k) => {
          const n = lineCount(k);
          const override = script.copyStatus.get(k) ?? {};
          return {
            file: `s3://landing/${k}`,
            status: 'LOADED' as const,
            rowsParsed: n,
            rowsLoaded: override.status && override.status !== 'LOADED' ? Math.max(0, n - 1) : n,
            ...override,
          };
        }),
    };
  });

  fake.reply(/information_schema\.copy_history/i, (q) => {
    historyQueries++;
    const wanted = new Set(q.binds.map(String));
    const rows = Object.keys(files)
      .filter((k) => wanted.has(k) && (script.alreadyLanded.has(k) || script.historyAfter.has(k)))
      .filter((k) => historyQueries > (script.historyAfter.get(k) ?? 0))
      .map((k) => [k, script.historyStatus.get(k) ?? 'Loaded', lineCount(k), lineCount(k), null, null, script.lastModified.get(k) ?? '2030-01-01 00:00:00']);
    return {
      columns: [
        col.text('FILE_NAME'),
        col.text('STATUS'),
        col.int('ROW_COUNT'),
        col.int('ROW_PARSED'),
        col.text('FIRST_ERROR_MESSAGE'),
        col.text('PIPE_NAME'),
        col.text('LAST_LOAD_TIME'),
      ],
      rows,
    };
  });

  fake.reply(/^alter pipe /i, (q) => {
    const key = /refresh prefix = '((?:[^']|'')*)'/i.exec(q.sql)?.[1]?.replace(/''/g, "'") ?? '';
    return { columns: [{ name: 'File', type: 'text' }, { name: 'Status', type: 'text' }], rows: [[key, 'SENT']] };
  });

  // the loader's per-batch statements name the batch's files in their binds
  const keysIn = (q: QueryContext) => [...new Set(q.binds.filter((b): b is string => typeof b === 'string' && b in files))];
  const counts = (dataset: Dataset, table: string, key: string) => {
    const result = parsed(dataset, key, bytesOf(key));
    if (!result.ok) return 0;
    const f = result.file;
    return f.dataset === 'transactions' ? (table === 'transaction_items' ? f.items.length : f.transactions.length) : f.rows.length;
  };

  fake.reply(/count_if\(contains\(line, chr\(0\)\)\)/i, (q) => ({
    columns: [col.text('FILE_KEY'), col.int('LINES'), col.int('NUL_LINES')],
    rows: keysIn(q)
      .filter((k) => lineCount(k) > 0)
      .map((k) => [k, lineCount(k), bytesOf(k).includes(0) ? 1 : 0]),
  }));

  fake.reply(/select file_key, line_number, .*status.*raw_text.*reason/is, (q) => {
    const dataset = datasetOf(q.sql);
    const rows: unknown[][] = [];
    for (const key of keysIn(q).sort()) {
      const result = parsed(dataset, key, bytesOf(key));
      if (!result.ok) rows.push([key, 1, 'unreadable', null, result.reason]);
      else for (const l of result.file.quarantined) rows.push([key, l.lineNumber, 'quarantined', l.rawText, l.reason]);
    }
    return { columns: [col.text('FILE_KEY'), col.int('LINE_NUMBER'), col.text('STATUS'), col.text('RAW_TEXT'), col.text('REASON')], rows };
  });

  fake.reply(/^insert into \S+\.raw\.(transactions|transaction_items|customers|products)\b/i, (q) => {
    const table = (/raw\.(\w+)/i.exec(q.sql)?.[1] as string).toLowerCase();
    const dataset: Dataset = table.startsWith('transaction') ? 'transactions' : (table as Dataset);
    return { updated: keysIn(q).reduce((n, k) => n + counts(dataset, table, k), 0) };
  });

  fake.reply(/^select _file_key as file_key, count\(\*\) as n/i, (q) => {
    const table = (/raw\.(\w+)/i.exec(q.sql)?.[1] as string).toLowerCase();
    const dataset: Dataset = table.startsWith('transaction') ? 'transactions' : (table as Dataset);
    return { columns: [col.text('FILE_KEY'), col.int('N')], rows: keysIn(q).map((k) => [k, counts(dataset, table, k)]) };
  });

  return script;
}
