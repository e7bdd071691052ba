/**
 * The transfer end to end on the local engines: DuckDB (a temporary file) and the local S3 server.
 * Every output is compared with an independent computation (test/support/transfer-oracle.ts) over
 * the raw rows of the same table.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { generateSampleTable } from '../../local/sample-tables';
import { resetConfig } from '../../shared/config';
import { InvalidInputError } from '../../shared/errors';
import type { Manifest } from '../../shared/publish';
import { setS3Client } from '../../shared/storage/object-store';
import { CLAIMS_TABLE, fingerprintOf, tryClaim } from '../../shared/publish/claims';
import { parseTransferRequest, transferData } from '../../shared/transfer';
import { setWarehouse } from '../../shared/warehouse';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Row, Warehouse } from '../../shared/warehouse/port';
import { startLocalS3, type LocalS3Server } from '../support/local-s3';
import {
  exactDecimalSum,
  expectedPartition,
  expectedTransfer,
  sortRows,
  type OracleOptions,
} from '../support/transfer-oracle';
import { duckdbDialect } from '../../shared/warehouse/dialect';

const BUCKET = 'exports';
let dir: string;
let server: LocalS3Server;
let client: S3Client;
let wh: DuckDbWarehouse;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transfer-it-'));
  server = await startLocalS3({ buckets: [BUCKET, 'other', 'landing'] });
  client = server.client();
  process.env.S3_ENDPOINT = server.endpoint;
  process.env.DUCKDB_PATH = path.join(dir, 'w.duckdb');
  process.env.STAGE = 'local';
  delete process.env.TRANSFER_ALLOWED_BUCKETS;
  resetConfig();
  setS3Client(client);
  wh = new DuckDbWarehouse(process.env.DUCKDB_PATH);
  setWarehouse(wh);
  await generateSampleTable(wh, 'LOCATIONS_595');
  await generateSampleTable(wh, 'ORDERS_100K', { rows: 20_000 });
  await generateSampleTable(wh, 'MOVIE_RATINGS_27M', { rows: 30_000 });
});

afterAll(async () => {
  setWarehouse(undefined);
  setS3Client(undefined);
  await wh.close();
  client.destroy();
  await server.stop();
  delete process.env.S3_ENDPOINT;
  delete process.env.DUCKDB_PATH;
  resetConfig();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function getBytes(key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function listKeys(prefix: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function readManifest(key: string): Promise<Manifest> {
  return JSON.parse((await getBytes(key)).toString('utf8')) as Manifest;
}

/** Decode every part of a manifest independently of the writer; rows keep their partition. */
async function readParts(manifest: Manifest): Promise<Array<{ partition: string; rows: Row[] }>> {
  const out: Array<{ partition: string; rows: Row[] }> = [];
  for (const part of manifest.parts) {
    const bytes = await getBytes(part.key);
    let rows: Row[];
    if (manifest.format === 'jsonl.gz') {
      const text = zlib.gunzipSync(bytes).toString('utf8');
      rows =
        text === ''
          ? []
          : text
              .trimEnd()
              .split('\n')
              .map((l) => JSON.parse(l) as Row);
    } else if (manifest.format === 'csv.gz') {
      rows = parse(zlib.gunzipSync(bytes), { columns: true, cast: false }) as Row[];
    } else {
      const file = path.join(dir, `part-${Date.now()}-${Math.random()}.parquet`);
      fs.writeFileSync(file, bytes);
      rows = await wh.query(`select * from read_parquet(?)`, [file]);
    }
    out.push({ partition: part.partition, rows });
  }
  return out;
}

async function rawRows(
  table: string,
): Promise<{ rows: Row[]; columns: Awaited<ReturnType<Warehouse['describeTable']>> }> {
  const columns = await wh.describeTable({ table });
  const rows = await wh.query(`select * from "${table}"`);
  return { rows, columns };
}

async function expectTransferMatchesOracle(table: string, opts: OracleOptions = {}) {
  // Prepare
  const { rows, columns } = await rawRows(table);
  const expected = expectedTransfer(rows, columns, opts);
  const outputColumns = Object.keys(expected[0] ?? {});
  const monthKey = columns.find((c) =>
    opts.dateColumn
      ? c.name.toUpperCase() === opts.dateColumn.toUpperCase()
      : (c.kind === 'date' || c.kind === 'timestamp') && outputColumns.includes(c.name),
  )!.name;

  // Act
  const result = await transferData({
    source_table: table,
    destination_s3_bucket: BUCKET,
    columns: opts.columns,
    date_column: opts.dateColumn,
    sum_columns: opts.sumColumns,
    group_columns: opts.groupColumns,
  });

  // Assess: the result object
  expect(Object.keys(result).slice(0, 3)).toEqual(['file_name', 'row_count', 'timestamp']);
  expect(result.file_name).toMatch(new RegExp(`^transfer/${table}/[^/]+/_manifest\\.json$`));
  expect(new Date(result.timestamp).toISOString()).toBe(result.timestamp);
  expect(result.row_count).toBe(expected.length);

  // the files: every expected row exactly once, each in its month's partition, months in order
  const manifest = await readManifest(result.file_name);
  const parts = await readParts(manifest);
  const written = parts.flatMap((p) => p.rows);
  expect(sortRows(written)).toEqual(sortRows(expected));
  for (const part of parts) {
    for (const row of part.rows) expect(expectedPartition(row, monthKey)).toBe(part.partition);
  }
  const partitions = manifest.partitions.map((p) => p.partition);
  const nonNull = partitions.filter((p) => p !== 'month=__null__');
  expect(nonNull).toEqual([...nonNull].sort());
  expect(manifest.row_count).toBe(expected.length);
  expect(manifest.columns.map((c) => c.name)).toEqual(outputColumns);
  return { result, manifest, expected };
}

describe('transfer on DuckDB and the local S3 server: sample tables', () => {
  it('LOCATIONS_595: blank rows dropped, DOB truncated to months, numbers summed, the rest grouped', async () => {
    const { manifest } = await expectTransferMatchesOracle('LOCATIONS_595');
    expect(manifest.columns.find((c) => c.name === 'DOB')?.role).toBe('month_key');
    expect(manifest.columns.find((c) => c.name === 'AREA_KM2')?.role).toBe('sum');
    expect(manifest.columns.find((c) => c.name === 'NAME')?.role).toBe('group');
  });

  it('ORDERS_100K (20k rows): O_ORDERDATE is the month key, CREATED_AT truncated and grouped', async () => {
    const { manifest } = await expectTransferMatchesOracle('ORDERS_100K');
    expect(manifest.month_key).toBe('O_ORDERDATE');
    expect(manifest.columns.find((c) => c.name === 'CREATED_AT')?.role).toBe('month');
  });

  it('ORDERS_100K with the seed options: date_column CREATED_AT, sum O_TOTALPRICE only', async () => {
    await expectTransferMatchesOracle('ORDERS_100K', {
      dateColumn: 'CREATED_AT',
      sumColumns: ['O_TOTALPRICE'],
    });
  });

  it('ORDERS_100K keeping two columns: the comment no longer splits groups, the month key stays', async () => {
    const { manifest, expected } = await expectTransferMatchesOracle('ORDERS_100K', {
      columns: ['o_orderstatus', 'O_TOTALPRICE'],
    });
    expect(manifest.columns.map((c) => [c.name, c.role])).toEqual([
      ['O_ORDERSTATUS', 'group'],
      ['O_TOTALPRICE', 'sum'],
      ['O_ORDERDATE', 'month_key'],
    ]);
    // a real aggregation: a few statuses per month, not one row per order
    expect(expected.length).toBeLessThan(2_000);
  });

  it('ORDERS_100K keeping a later date column: it becomes the month key', async () => {
    const { manifest } = await expectTransferMatchesOracle('ORDERS_100K', {
      columns: ['CREATED_AT', 'O_TOTALPRICE'],
    });
    expect(manifest.month_key).toBe('CREATED_AT');
  });

  it('MOVIE_RATINGS_27M (30k rows of the same generator)', async () => {
    const { result } = await expectTransferMatchesOracle('MOVIE_RATINGS_27M');
    expect(result.months).toBeGreaterThan(100);
  });
});

describe('transfer edge cases', () => {
  async function table(name: string, ddl: string, inserts: string) {
    await wh.execute(`create or replace table "${name}" (${ddl})`);
    if (inserts) await wh.execute(`insert into "${name}" values ${inserts}`);
  }

  it('an all-blank table writes no part and a manifest with zero rows', async () => {
    // Prepare
    await table(
      'ALL_BLANK',
      'a varchar, b integer, d date',
      `(null, null, null), ('  ', null, null), (chr(9) || ' ', null, null), ('', null, null)`,
    );

    // Act
    const result = await transferData({ source_table: 'ALL_BLANK', destination_s3_bucket: BUCKET });

    // Assess
    expect(result.row_count).toBe(0);
    const manifest = await readManifest(result.file_name);
    expect(manifest.parts).toEqual([]);
    expect(await listKeys(result.file_name.replace('_manifest.json', ''))).toEqual([result.file_name]);
  });

  it('NULLs in numeric columns: ignored by the sum, and a group of only NULLs sums to NULL', async () => {
    await table(
      'NULL_NUMBERS',
      'g varchar, d date, n integer, x decimal(10,2)',
      `('a', '2024-01-05', 1, null), ('a', '2024-01-20', null, null), ('b', '2024-01-07', null, 2.5),
       ('b', '2024-02-01', null, null), ('c', null, 4, 1.25), ('c', null, null, 1.25)`,
    );
    const { expected } = await expectTransferMatchesOracle('NULL_NUMBERS');
    // the oracle itself must see the all-NULL group, or this test proves nothing
    expect(expected).toContainEqual({ g: 'b', d: '2024-02-01', n: null, x: null });
  });

  it('whitespace-only and empty strings in non-blank rows are kept and grouped as they are', async () => {
    await table(
      'WHITESPACE',
      'label varchar, d timestamp, n integer',
      `(' ', '2024-03-01 10:00:00', 1), (' ', '2024-03-09 11:00:00', 2), ('', '2024-03-02 00:00:00', 4),
       (null, '2024-03-02 00:00:00', 8), ('  ', null, null), (chr(10), null, null)`,
    );
    const { expected } = await expectTransferMatchesOracle('WHITESPACE');
    expect(expected).toHaveLength(3);
  });

  it('two date columns: the first is the month key unless date_column names the other', async () => {
    await table(
      'TWO_DATES',
      'born date, seen timestamp, n integer',
      `('2000-01-15', '2024-05-05 05:05:05', 1), ('2000-01-20', '2024-06-06 06:06:06', 2), ('2001-02-01', '2024-05-30 00:00:00', 3)`,
    );
    const first = await expectTransferMatchesOracle('TWO_DATES');
    expect(first.manifest.month_key).toBe('born');
    const second = await expectTransferMatchesOracle('TWO_DATES', { dateColumn: 'SEEN' });
    expect(second.manifest.month_key).toBe('seen');
    expect(second.manifest.partitions.map((p) => p.partition)).toEqual(['month=2024-05', 'month=2024-06']);
  });

  it('rows whose month key is NULL go to month=__null__, written last', async () => {
    await table(
      'NULL_MONTH',
      'd date, n integer',
      `(null, 1), ('2023-12-31', 2), (null, 3), ('2023-01-01', 4)`,
    );
    const { manifest } = await expectTransferMatchesOracle('NULL_MONTH');
    expect(manifest.partitions.map((p) => p.partition)).toEqual([
      'month=2023-01',
      'month=2023-12',
      'month=__null__',
    ]);
  });

  it('a table without numeric columns is grouped only', async () => {
    await table(
      'NO_NUMBERS',
      'city varchar, d date',
      `('x', '2024-01-01'), ('x', '2024-01-31'), ('y', '2024-01-02')`,
    );
    const { expected } = await expectTransferMatchesOracle('NO_NUMBERS');
    expect(expected).toHaveLength(2);
  });

  it('a table without a date column is refused with a clear error and nothing is written', async () => {
    await table('NO_DATES', 'city varchar, n integer', `('x', 1)`);
    const before = await listKeys('transfer/NO_DATES/');
    await expect(transferData({ source_table: 'NO_DATES', destination_s3_bucket: BUCKET })).rejects.toThrow(
      /NO_DATES has no date or timestamp column/,
    );
    expect(await listKeys('transfer/NO_DATES/')).toEqual(before);
  });

  it.each([
    'x; drop table y',
    'ORDERS_100K"; drop table "ORDERS_100K',
    "o'reilly",
    'tâble',
    '表',
    'a.b.c.d',
    'db..t',
    ' ORDERS_100K',
    '',
    'ORDERS_100K--',
  ])('rejects the table name %j before any SQL runs', async (name) => {
    // Prepare: a warehouse that records every call
    const calls: string[] = [];
    const spy: Warehouse = {
      engine: 'duckdb',
      dialect: duckdbDialect,
      query: async (sql) => (calls.push(sql), []),
      execute: async (sql) => (calls.push(sql), 0),
      executeScript: async (sql) => void calls.push(sql),
      stream: (sql) => (calls.push(sql), (async function* () {})()),
      transaction: async () => {
        calls.push('transaction');
        throw new Error('not expected');
      },
      describeTable: async (t) => (calls.push(`describe ${JSON.stringify(t)}`), []),
      findTables: async (t) => (calls.push(`find ${JSON.stringify(t)}`), []),
      close: async () => undefined,
    };

    // Act
    const attempt = transferData({ source_table: name, destination_s3_bucket: BUCKET }, { warehouse: spy });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(InvalidInputError);
    await expect(attempt).rejects.toThrow(/table name|source_table/);
    expect(calls).toEqual([]);
  });

  it('accepts schema.table and database.schema.table names', async () => {
    await wh.execute('create schema if not exists sales');
    await wh.execute(`create or replace table sales."ORDERS_SMALL" as select * from "ORDERS_100K" limit 500`);
    const [{ db }] = (await wh.query('select current_database() as db')) as [{ db: string }];
    const a = await transferData({ source_table: 'sales.ORDERS_SMALL', destination_s3_bucket: BUCKET });
    const b = await transferData({ source_table: `${db}.sales.ORDERS_SMALL`, destination_s3_bucket: BUCKET });
    expect(a.row_count).toBeGreaterThan(0);
    expect(b.row_count).toBe(a.row_count);
    expect(a.file_name).toMatch(/^transfer\/sales\.ORDERS_SMALL\//);
  });

  it('unknown and non-date columns in options are clear errors', async () => {
    await expect(
      transferData({ source_table: 'ORDERS_100K', destination_s3_bucket: BUCKET, date_column: 'NOPE' }),
    ).rejects.toThrow(/date_column: "NOPE" is not a column of ORDERS_100K/);
    await expect(
      transferData({ source_table: 'ORDERS_100K', destination_s3_bucket: BUCKET, date_column: 'O_CLERK' }),
    ).rejects.toThrow(/O_CLERK is VARCHAR, not a date or timestamp column/);
    await expect(
      transferData({
        source_table: 'ORDERS_100K',
        destination_s3_bucket: BUCKET,
        sum_columns: ['O_COMMENT'],
      }),
    ).rejects.toThrow(/not a numeric column/);
    await expect(
      transferData({ source_table: 'ORDERS_100K', destination_s3_bucket: BUCKET, colour: 'blue' } as never),
    ).rejects.toThrow(/Unrecognized key/);
  });

  it.each(['csv.gz', 'parquet'] as const)('writes %s files with the same rows', async (format) => {
    // Prepare
    const { rows, columns } = await rawRows('LOCATIONS_595');
    const expected = expectedTransfer(rows, columns);

    // Act
    const result = await transferData({
      source_table: 'LOCATIONS_595',
      destination_s3_bucket: BUCKET,
      format,
    });

    // Assess: decoded with csv-parse / DuckDB's parquet reader, values compared as text for CSV
    const manifest = await readManifest(result.file_name);
    expect(manifest.parts.every((p) => p.key.endsWith(`.${format}`))).toBe(true);
    const written = (await readParts(manifest)).flatMap((p) => p.rows);
    const asText = (r: Row) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          v === null ? '' : typeof v === 'boolean' ? String(v) : String(v),
        ]),
      );
    if (format === 'csv.gz') {
      // numbers are compared as numbers: CSV writes decimals with their scale ('12.50')
      const numeric = new Set(manifest.columns.filter((c) => c.kind === 'number').map((c) => c.name));
      const numbersAsNumbers = (r: Row) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, numeric.has(k) && v !== '' ? Number(v) : v]));
      expect(sortRows(written.map(numbersAsNumbers))).toEqual(sortRows(expected.map(asText).map(numbersAsNumbers)));
    } else {
      expect(sortRows(written)).toEqual(sortRows(expected));
    }
  });

  /** The real warehouse, its aggregation counted and slowed down so two runs overlap. */
  function slowWarehouse(delayMs: number): { warehouse: Warehouse; aggregations: () => number } {
    let count = 0;
    const warehouse: Warehouse = Object.assign(Object.create(wh) as Warehouse, {
      engine: 'duckdb' as const,
      findTables: wh.findTables.bind(wh),
      describeTable: wh.describeTable.bind(wh),
      stream: async function* (sql: string, params?: never, options?: never) {
        if (/group by/i.test(sql)) count++;
        for await (const batch of wh.stream(sql, params, options)) {
          await new Promise((r) => setTimeout(r, delayMs));
          // small batches: more interleaving between the two runs' uploads
          for (let i = 0; i < batch.length; i += 50) yield batch.slice(i, i + 50);
        }
      },
    });
    return { warehouse, aggregations: () => count };
  }

  /** Every part of the manifest is what the manifest says: its bytes, its SHA-256, valid gzip. */
  async function expectPartsMatchManifest(manifest: Manifest): Promise<void> {
    for (const part of manifest.parts) {
      const bytes = await getBytes(part.key);
      expect({ key: part.key, bytes: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') }).toEqual({
        key: part.key,
        bytes: part.bytes,
        sha256: part.sha256,
      });
      expect(() => zlib.gunzipSync(bytes)).not.toThrow();
    }
  }

  it('two transfers with the same run_id at once: one run writes, both return its result', async () => {
    // Prepare
    const { rows, columns } = await rawRows('ORDERS_100K');
    const expected = expectedTransfer(rows, columns);
    const slow = slowWarehouse(5);
    const request = { source_table: 'ORDERS_100K', destination_s3_bucket: BUCKET, run_id: 'twice-at-once' };

    // Act
    const [a, b] = await Promise.all([
      transferData(request, { warehouse: slow.warehouse, pollMs: 50 }),
      transferData(request, { warehouse: slow.warehouse, pollMs: 50 }),
    ]);

    // Assess: the same result (the first run's, timestamp included), one aggregation, parts intact
    expect(b).toEqual(a);
    expect(slow.aggregations()).toBe(1);
    const manifest = await readManifest(a.file_name);
    await expectPartsMatchManifest(manifest);
    expect(sortRows((await readParts(manifest)).flatMap((p) => p.rows))).toEqual(sortRows(expected));
    expect(await listKeys('transfer/ORDERS_100K/twice-at-once/')).toEqual(
      [a.file_name, ...manifest.parts.map((p) => p.key)].sort(),
    );
  });

  it('a repeat after the run finished returns the first result and writes nothing', async () => {
    // Prepare
    const request = { source_table: 'LOCATIONS_595', destination_s3_bucket: BUCKET, run_id: 'fixed-run' };
    const first = await transferData(request);
    const keysFirst = await listKeys('transfer/LOCATIONS_595/fixed-run/');
    const manifestBytes = await getBytes(first.file_name);
    const counted = slowWarehouse(0);

    // Act
    const second = await transferData(request, { warehouse: counted.warehouse });

    // Assess
    expect(second).toEqual(first);
    expect(counted.aggregations()).toBe(0);
    expect(await listKeys('transfer/LOCATIONS_595/fixed-run/')).toEqual(keysFirst);
    expect(await getBytes(first.file_name)).toEqual(manifestBytes);
  });

  it('identical requests without a run_id at once are one run', async () => {
    // Prepare
    const slow = slowWarehouse(5);
    const request = { source_table: 'LOCATIONS_595', destination_s3_bucket: BUCKET, prefix: 'no-run-id' };

    // Act
    const [a, b] = await Promise.all([
      transferData(request, { warehouse: slow.warehouse, pollMs: 50 }),
      transferData(request, { warehouse: slow.warehouse, pollMs: 50 }),
    ]);

    // Assess
    expect(b).toEqual(a);
    expect(slow.aggregations()).toBe(1);
    expect((await listKeys('no-run-id/LOCATIONS_595/')).filter((k) => k.endsWith('_manifest.json'))).toEqual([a.file_name]);
  });

  it('a run_id reused for a different request is refused', async () => {
    await transferData({ source_table: 'LOCATIONS_595', destination_s3_bucket: BUCKET, run_id: 'reused' });
    await expect(
      transferData({ source_table: 'LOCATIONS_595', destination_s3_bucket: BUCKET, run_id: 'reused', format: 'csv.gz' }),
    ).rejects.toThrow(/run_id reused was already used for a different request/);
  });

  it('takes over from a run that died holding the claim (its lease ran out)', async () => {
    // Prepare: a claim as a killed run leaves it: running, never renewed, lease already over
    const request = { source_table: 'LOCATIONS_595', destination_s3_bucket: BUCKET, run_id: 'after-a-crash' };
    const scope = `transfer:s3://${BUCKET}/transfer/LOCATIONS_595/after-a-crash`;
    const dead = await tryClaim(
      wh,
      { scope, requestKey: scope, fingerprint: fingerprintOf(parseTransferRequest(request)), runId: 'after-a-crash' },
      { leaseMs: 1, now: () => new Date(Date.now() - 60_000) },
    );
    expect(dead.kind).toBe('acquired');

    // Act
    const result = await transferData(request);

    // Assess
    expect(result.row_count).toBeGreaterThan(0);
    const claims = await wh.query(`select status from ${CLAIMS_TABLE} where scope = ? order by started_at`, [scope]);
    expect(claims.map((c) => c.status)).toEqual(['abandoned', 'succeeded']);
  });

  it('a failure while streaming leaves no manifest, no part and no open multipart upload', async () => {
    // Prepare: the real warehouse, but its stream breaks after three batches
    const failing: Warehouse = Object.assign(Object.create(wh) as Warehouse, {
      engine: 'duckdb' as const,
      describeTable: wh.describeTable.bind(wh),
      findTables: wh.findTables.bind(wh),
      stream: async function* (sql: string) {
        let n = 0;
        for await (const batch of wh.stream(sql)) {
          if (++n > 3) throw new Error('connection reset by peer');
          yield batch;
        }
      },
    });

    // Act
    const attempt = transferData(
      { source_table: 'ORDERS_100K', destination_s3_bucket: BUCKET, run_id: 'will-fail' },
      { warehouse: failing },
    );

    // Assess
    await expect(attempt).rejects.toThrow(/connection reset/);
    expect(await listKeys('transfer/ORDERS_100K/will-fail/')).toEqual([]);
    expect(server.openUploads(BUCKET)).toEqual([]);
  });

  it('an array column is named in a clear error before any SQL; left out with columns, the rest transfers', async () => {
    // Prepare
    await table('WITH_ARRAY', 'tags integer[], n integer, d date', `([1, 2], 3, '2024-01-05'), (null, 4, '2024-01-09')`);
    const statements: string[] = [];
    const recording: Warehouse = Object.assign(Object.create(wh) as Warehouse, {
      engine: 'duckdb' as const,
      findTables: wh.findTables.bind(wh),
      describeTable: wh.describeTable.bind(wh),
      stream: (sql: string, params?: never, options?: never) => (statements.push(sql), wh.stream(sql, params, options)),
      query: (sql: string, params?: never) => (statements.push(sql), wh.query(sql, params)),
    });

    // Act / Assess: refused by name, no aggregation sent, nothing written
    await expect(
      transferData({ source_table: 'WITH_ARRAY', destination_s3_bucket: BUCKET, run_id: 'arr' }, { warehouse: recording }),
    ).rejects.toThrow(/WITH_ARRAY has columns the transfer cannot aggregate or write: tags INTEGER\[\]/);
    expect(statements.some((s) => /group by/i.test(s))).toBe(false);
    expect(await listKeys('transfer/WITH_ARRAY/arr/')).toEqual([]);
    // without it the table transfers (blank rows still judged on every column)
    const { expected } = await expectTransferMatchesOracle('WITH_ARRAY', { columns: ['n'] });
    expect(expected).toEqual([{ n: 7, d: '2024-01-01' }]);
  });

  it('an unqualified name found in two schemas is refused naming both; schema.table picks one', async () => {
    // Prepare
    await wh.execute('create schema if not exists ops');
    await table('TWICE', 'd date, n integer', `('2024-01-01', 1)`);
    await wh.execute(`create or replace table ops."TWICE" (d date, n integer)`);
    await wh.execute(`insert into ops."TWICE" values ('2024-02-01', 5)`);
    const [{ db }] = (await wh.query('select current_database() as db')) as [{ db: string }];

    // Act / Assess
    await expect(transferData({ source_table: 'TWICE', destination_s3_bucket: BUCKET })).rejects.toThrow(
      new RegExp(`table name TWICE is ambiguous: it names ${db}\\.main\\.TWICE, ${db}\\.ops\\.TWICE; give it as schema.table`),
    );
    const result = await transferData({ source_table: 'ops.TWICE', destination_s3_bucket: BUCKET });
    const rows = (await readParts(await readManifest(result.file_name))).flatMap((p) => p.rows);
    expect(rows).toEqual([{ d: '2024-02-01', n: 5 }]);
  });

  it('never writes into the landing bucket, even with no allowed-bucket list', async () => {
    // Prepare: the landing bucket exists and no TRANSFER_ALLOWED_BUCKETS is set

    // Act / Assess
    await expect(
      transferData({ source_table: 'LOCATIONS_595', destination_s3_bucket: 'landing' }),
    ).rejects.toThrow(/destination bucket landing is the landing bucket/);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'landing' }));
    expect(listed.Contents ?? []).toEqual([]);
  });

  describe('exact numbers', () => {
    // 10 x 9999999999999999.99 = 99999999999999999.90 (more digits than a double holds), and a
    // BIGINT sum above 2^53 in one month beside a small one in the next: one type per column
    const big = '9999999999999999.99';
    const huge = 2n ** 53n; // 9007199254740992
    const inserted: Array<{ d: string; amount: string; n: string; k: string }> = [];
    for (let i = 0; i < 10; i++) inserted.push({ d: `2024-01-0${(i % 9) + 1}`, amount: big, n: String(i === 0 ? huge : 1n), k: '1' });
    inserted.push({ d: '2024-02-01', amount: '0.10', n: '2', k: String(huge + 1n) });
    inserted.push({ d: '2024-02-02', amount: '0.05', n: '3', k: String(huge + 1n) });
    beforeAll(async () => {
      await wh.execute(`create or replace table "EXACT" (d date, amount decimal(18,2), n bigint, k bigint)`);
      const values = inserted.map((r) => `('${r.d}', ${r.amount}, ${r.n}, ${r.k})`);
      await wh.execute(`insert into "EXACT" values ${values.join(', ')}`);
    });

    /** The sums computed here, by BigInt from the literals inserted (not by any warehouse). */
    function expectedSums(): Record<string, { amount: string; n: string }> {
      const out: Record<string, { amount: string; n: string }> = {};
      for (const month of ['2024-01', '2024-02']) {
        const rows = inserted.filter((r) => r.d.startsWith(month));
        out[month] = {
          amount: exactDecimalSum(rows.map((r) => r.amount), 2)!,
          n: exactDecimalSum(rows.map((r) => r.n), 0)!,
        };
      }
      return out;
    }

    it.each(['jsonl.gz', 'csv.gz', 'parquet'] as const)('%s: sums are exact and each column has one type', async (format) => {
      // Prepare
      const expected = expectedSums();
      expect(expected['2024-01']).toEqual({ amount: '99999999999999999.90', n: '9007199254741001' });

      // Act: k is grouped (not summed), so its BIGINT values beyond 2^53 are written as they are
      const result = await transferData({
        source_table: 'EXACT',
        destination_s3_bucket: BUCKET,
        format,
        sum_columns: ['amount', 'n'],
      });

      // Assess: the values, as text
      const manifest = await readManifest(result.file_name);
      const written: Array<Record<string, string>> = [];
      for (const part of manifest.parts) {
        const bytes = await getBytes(part.key);
        if (format === 'jsonl.gz') {
          for (const line of zlib.gunzipSync(bytes).toString('utf8').trimEnd().split('\n')) {
            // read the number tokens as text: JSON.parse would round them to doubles
            const m = /^\{"d":"([\d-]+)","amount":(-?[\d.]+),"n":(-?\d+),"k":(-?\d+)\}$/.exec(line);
            expect(m).not.toBeNull();
            written.push({ d: m![1]!, amount: m![2]!, n: m![3]!, k: m![4]! });
          }
        } else if (format === 'csv.gz') {
          written.push(...(parse(zlib.gunzipSync(bytes), { columns: true }) as Array<Record<string, string>>));
        } else {
          const file = path.join(dir, `exact-${Date.now()}.parquet`);
          fs.writeFileSync(file, bytes);
          for await (const b of wh.stream(`select * from read_parquet(?)`, [file], { exactNumbers: true })) {
            written.push(...b.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]))));
          }
        }
      }
      expect(written).toEqual([
        { d: '2024-01-01', amount: expected['2024-01']!.amount, n: expected['2024-01']!.n, k: '1' },
        { d: '2024-02-01', amount: expected['2024-02']!.amount, n: expected['2024-02']!.n, k: String(huge + 1n) },
      ]);
      // and the manifest states the written types
      expect(manifest.columns.map((c) => [c.name, c.output_type])).toEqual([
        ['d', 'DATE'],
        ['amount', 'DECIMAL(38,2)'],
        ['n', 'DECIMAL(38,0)'],
        ['k', 'BIGINT'],
      ]);
    });
  });

  it('refuses a bucket outside TRANSFER_ALLOWED_BUCKETS, and a bucket that does not exist', async () => {
    process.env.TRANSFER_ALLOWED_BUCKETS = 'other';
    resetConfig();
    try {
      await expect(
        transferData({ source_table: 'LOCATIONS_595', destination_s3_bucket: BUCKET }),
      ).rejects.toThrow(/not allowed \(TRANSFER_ALLOWED_BUCKETS: other\)/);
    } finally {
      delete process.env.TRANSFER_ALLOWED_BUCKETS;
      resetConfig();
    }
    await expect(
      transferData({ source_table: 'LOCATIONS_595', destination_s3_bucket: 'no-such-bucket' }),
    ).rejects.toThrow(/destination bucket no-such-bucket does not exist/);
  });

  it('says to start the local stack when the local S3 server is not running', async () => {
    // Prepare: a port with nothing listening
    const gone = await startLocalS3({ buckets: [BUCKET] });
    const deadClient = gone.client();
    await gone.stop();
    process.env.S3_ENDPOINT = gone.endpoint;
    resetConfig();
    try {
      // Act / Assess
      await expect(
        transferData(
          { source_table: 'LOCATIONS_595', destination_s3_bucket: BUCKET, run_id: 'no-s3' },
          { s3: deadClient },
        ),
      ).rejects.toThrow(/is the local stack running\? Start it with `npm start`/);
    } finally {
      process.env.S3_ENDPOINT = server.endpoint;
      resetConfig();
      deadClient.destroy();
    }
  });
});
