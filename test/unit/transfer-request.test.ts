/**
 * The transfer request schema (Lambda event, CLI, library), the CLI argument parsers, the
 * month splitter and the unload helpers.
 */
import { parseGenerateTablesArgs } from '../../local/cli/generate-tables';
import { parseTransferArgs } from '../../local/cli/transfer';
import { InvalidInputError } from '../../shared/errors';
import { newTransferRunId, parseTransferRequest, splitByKey } from '../../shared/transfer';
import { readAhead } from '../../shared/transfer/split';
import { partsFromUnload, stageLocationFromDescribe } from '../../shared/transfer/unload';
import type { Row } from '../../shared/warehouse/port';

describe('parseTransferRequest', () => {
  it('fills the defaults', () => {
    expect(parseTransferRequest({ source_table: 'ORDERS_100K', destination_s3_bucket: 'exports' })).toEqual({
      source_table: 'ORDERS_100K',
      destination_s3_bucket: 'exports',
      format: 'jsonl.gz',
      prefix: 'transfer',
      mode: 'stream',
    });
  });

  it('keeps every option and trims slashes off the prefix', () => {
    const parsed = parseTransferRequest({
      source_table: 'db.s.t',
      destination_s3_bucket: 'my.bucket-1',
      date_column: 'D',
      sum_columns: ['A'],
      group_columns: ['B'],
      format: 'parquet',
      prefix: '/exports/monthly/',
      pseudonymise: ['C'],
      mode: 'unload',
      run_id: 'run_2024-01.a',
      max_file_size: 1000,
    });
    expect(parsed).toMatchObject({
      prefix: 'exports/monthly',
      format: 'parquet',
      mode: 'unload',
      run_id: 'run_2024-01.a',
    });
  });

  it.each([
    [{ destination_s3_bucket: 'exports' }, /source_table/],
    [{ source_table: 'T' }, /destination_s3_bucket/],
    [{ source_table: 'T', destination_s3_bucket: 'Exports' }, /valid S3 bucket name/],
    [{ source_table: 'T', destination_s3_bucket: 'ab' }, /valid S3 bucket name/],
    [{ source_table: 'T', destination_s3_bucket: 'a..b' }, /valid S3 bucket name/],
    [{ source_table: 'T', destination_s3_bucket: '192.168.1.1' }, /valid S3 bucket name/],
    [{ source_table: 'T', destination_s3_bucket: 'b', format: 'xlsx' }, /format/],
    [{ source_table: 'T', destination_s3_bucket: 'exports', prefix: 'a/../b' }, /prefix/],
    [{ source_table: 'T', destination_s3_bucket: 'exports', prefix: 'a b' }, /prefix/],
    [{ source_table: 'T', destination_s3_bucket: 'exports', run_id: '../x' }, /run_id/],
    [{ source_table: 'T', destination_s3_bucket: 'exports', mode: 'copy' }, /mode/],
    [{ source_table: 'T', destination_s3_bucket: 'exports', date_colum: 'D' }, /Unrecognized key/],
    [
      { source_table: 'T', destination_s3_bucket: 'exports', columns: [] },
      /columns: name at least one column/,
    ],
    [null, /invalid transfer request/],
  ])('rejects %j', (input, message) => {
    expect(() => parseTransferRequest(input)).toThrow(InvalidInputError);
    expect(() => parseTransferRequest(input)).toThrow(message);
  });

  it('run ids sort by time and carry a random suffix', () => {
    const id = newTransferRunId(new Date('2024-01-31T23:59:58.123Z'));
    expect(id).toMatch(/^20240131T235958Z-[0-9a-f]{6}$/);
    expect(newTransferRunId(new Date(0))).not.toBe(newTransferRunId(new Date(0)));
  });
});

describe('CLI arguments', () => {
  it('npm run transfer maps flags to the request and lists on commas', () => {
    expect(
      parseTransferArgs([
        '--table',
        'ORDERS_100K',
        '--bucket',
        'exports',
        '--sum',
        'A, B',
        '--columns',
        'A,B,C',
        '--format',
        'csv.gz',
        '--max-file-size',
        '1000',
      ]),
    ).toEqual({
      source_table: 'ORDERS_100K',
      destination_s3_bucket: 'exports',
      sum_columns: ['A', 'B'],
      columns: ['A', 'B', 'C'],
      format: 'csv.gz',
      max_file_size: 1000,
    });
    expect(parseTransferArgs(['--table', 'T', '--destination', 'acme'])).toEqual({ source_table: 'T', destination: 'acme' });
    expect(() => parseTransferArgs(['--table', 'T'])).toThrow(/--bucket or --destination is required/);
    expect(parseTransferArgs(['--help'])).toBe('help');
    expect(() => parseTransferArgs(['--bucket', 'b'])).toThrow(/--table is required/);
    expect(() => parseTransferArgs(['--table', 't', '--bucket', 'b', '--colour', 'x'])).toThrow(
      InvalidInputError,
    );
  });

  it('npm run generate:tables selects tables and scales rows', () => {
    expect(parseGenerateTablesArgs([])).toEqual({
      names: ['LOCATIONS_595', 'ORDERS_100K', 'MOVIE_RATINGS_27M'],
      rows: undefined,
    });
    expect(parseGenerateTablesArgs(['--only', 'orders_100k,LOCATIONS_595', '--rows', '10'])).toEqual({
      names: ['ORDERS_100K', 'LOCATIONS_595'],
      rows: 10,
    });
    expect(() => parseGenerateTablesArgs(['--only', 'NOPE'])).toThrow(/unknown sample table "NOPE"/);
    expect(() => parseGenerateTablesArgs(['--rows', '-1'])).toThrow(/--rows/);
  });
});

describe('splitByKey', () => {
  async function* from(batches: Row[][]): AsyncIterable<Row[]> {
    for (const b of batches) yield b;
  }
  const rows = (...keys: string[]) => keys.map((k, i) => ({ k, i }));

  it('yields one group per run of keys, across batch boundaries, without losing or reordering rows', async () => {
    // Prepare
    const input = [rows('a', 'a'), rows('a', 'b'), [], rows('b'), rows('c', 'd', 'd')];

    // Act
    const groups: Array<{ key: string; rows: Row[] }> = [];
    for await (const group of splitByKey(from(input), (r) => String(r.k))) {
      const collected: Row[] = [];
      for await (const batch of group.batches) collected.push(...batch);
      groups.push({ key: group.key, rows: collected });
    }

    // Assess
    expect(groups.map((g) => g.key)).toEqual(['a', 'b', 'c', 'd']);
    expect(groups.flatMap((g) => g.rows)).toEqual(input.flat());
    expect(groups.every((g) => g.rows.every((r) => r.k === g.key))).toBe(true);
  });

  it('refuses input whose keys come back (not ordered)', async () => {
    const drain = async () => {
      for await (const group of splitByKey(from([rows('a', 'b', 'a')]), (r) => String(r.k))) {
        for await (const _ of group.batches) void _;
      }
    };
    await expect(drain()).rejects.toThrow(/not ordered by their partition: a came back/);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    async function* source(): AsyncIterable<Row[]> {
      try {
        yield rows('a');
        yield rows('b');
      } finally {
        closed = true;
      }
    }
    for await (const group of splitByKey(source(), (r) => String(r.k))) {
      for await (const _ of group.batches) void _;
      break;
    }
    expect(closed).toBe(true);
  });
});

describe('readAhead', () => {
  it('yields every batch in order while asking the source for the next ones early', async () => {
    // Prepare: a source that records how far ahead it was asked
    let produced = 0;
    let consumed = 0;
    let maxLead = 0;
    async function* source(): AsyncIterable<number> {
      for (let i = 0; i < 10; i++) {
        produced++;
        maxLead = Math.max(maxLead, produced - consumed);
        yield i;
      }
    }

    // Act
    const seen: number[] = [];
    for await (const v of readAhead(source(), 2)) {
      seen.push(v);
      consumed++;
      await new Promise((r) => setImmediate(r));
    }

    // Assess
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(maxLead).toBeGreaterThan(1);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    async function* source(): AsyncIterable<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const v of readAhead(source())) if (v === 3) break;
    expect(closed).toBe(true);
  });
});

describe('unload helpers', () => {
  it('reads the bucket and path of an external stage from DESC STAGE rows', () => {
    const rows: Row[] = [
      {
        parent_property: 'STAGE_LOCATION',
        property: 'URL',
        property_type: 'String',
        property_value: '["s3://acme-exports/snowflake/"]',
      },
      {
        parent_property: 'STAGE_LOCATION',
        property: 'AWS_ROLE',
        property_type: 'String',
        property_value: '',
      },
    ];
    expect(stageLocationFromDescribe(rows)).toEqual({ bucket: 'acme-exports', path: 'snowflake/' });
    expect(stageLocationFromDescribe([{ property: 'URL', property_value: '["s3://b"]' }])).toEqual({
      bucket: 'b',
      path: '',
    });
    expect(() => stageLocationFromDescribe([{ property: 'URL', property_value: '' }])).toThrow(
      /not an external S3 stage/,
    );
  });

  it('turns COPY detailed output into manifest parts under the stage path', () => {
    const parts = partsFromUnload(
      [
        { file_name: 'month=2024-01/data_01a_0_0_0.json.gz', file_size: 120, row_count: 7 },
        { FILE_NAME: 'month=__null__/data_01a_0_0_1.json.gz', FILE_SIZE: 20, ROW_COUNT: 1 },
      ],
      'snowflake/transfer/T/run/',
    );
    expect(parts).toEqual([
      {
        key: 'snowflake/transfer/T/run/month=2024-01/data_01a_0_0_0.json.gz',
        partition: 'month=2024-01',
        rows: 7,
        bytes: 120,
        sha256: null,
      },
      {
        key: 'snowflake/transfer/T/run/month=__null__/data_01a_0_0_1.json.gz',
        partition: 'month=__null__',
        rows: 1,
        bytes: 20,
        sha256: null,
      },
    ]);
    expect(() => partsFromUnload([{ rows_unloaded: 3 }], '')).toThrow(/DETAILED_OUTPUT/);
  });
});
