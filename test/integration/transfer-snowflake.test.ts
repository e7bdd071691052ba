/**
 * The transfer's Snowflake path through the real snowflake-sdk and SnowflakeWarehouse against the
 * loopback fake of Snowflake's REST API (which runs no SQL: it answers from scripts), with the
 * local S3 server as the destination:
 * - stream mode: the statement sent is the portable aggregation with upper-cased quoted names, and
 *   a chunked result (several chunk downloads) arrives in the files unchanged, month by month;
 * - unload mode: DESC STAGE, then COPY INTO the export stage with PARTITION BY and DETAILED_OUTPUT,
 *   and the manifest built from the unload's output rows.
 */
import zlib from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadConfig, type Config } from '../../shared/config';
import { setLogSink } from '../../shared/logger';
import type { Manifest } from '../../shared/publish';
import { transferData } from '../../shared/transfer';
import { SnowflakeWarehouse, type SnowflakeConfig } from '../../shared/warehouse/snowflake';
import type { Row } from '../../shared/warehouse/port';
import { FakeSnowflake, col } from '../support/fake-snowflake';
import { generateKeyPair } from '../support/fake-snowflake/keys';
import { startLocalS3, type LocalS3Server } from '../support/local-s3';
import { keyPairCredentials } from '../support/fake-snowflake/config';
import { scriptRunClaims } from '../support/run-claims';

const key = generateKeyPair();
const BUCKET = 'exports';

const credentials = keyPairCredentials(key);

let fake: FakeSnowflake;
let wh: SnowflakeWarehouse;
let server: LocalS3Server;
let client: S3Client;
let cfg: Config;

beforeAll(async () => {
  setLogSink(() => undefined);
  server = await startLocalS3({ buckets: [BUCKET] });
  client = server.client();
});

afterAll(async () => {
  client.destroy();
  await server.stop();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

beforeEach(async () => {
  fake = await FakeSnowflake.start({ account: 'TESTACCOUNT', user: 'TRANSFER', publicKeys: [key.publicKey] });
  cfg = loadConfig({
    STAGE: 'dev',
    LANDING_BUCKET: 'landing',
    EXPORTS_BUCKET: BUCKET,
    WAREHOUSE_ENGINE: 'snowflake',
    SNOWFLAKE_ACCESS_URL: fake.url,
    SNOWFLAKE_ACCOUNT: 'testaccount',
    SNOWFLAKE_USER: 'transfer',
    // the bucket is this account's (the local S3 server's buckets belong to 000000000000), so no
    // destination store is read and no STS is asked who we are
    TRANSFER_ALLOWED_BUCKETS: BUCKET,
    ACCOUNT_ID: '000000000000',
  });
  wh = new SnowflakeWarehouse(cfg.warehouse as SnowflakeConfig, { credentials, statementTimeoutMs: 20_000 });
  describeTables([['PUBLIC', 'ORDERS']]);
  scriptRunClaims(fake);
});

/** What INFORMATION_SCHEMA.COLUMNS says: these tables, each with these columns (catalog spelling). */
function describeTables(
  tables: Array<[string, string]>,
  columns: Array<[string, string, number | null, number | null]> = [
    ['O_ORDERSTATUS', 'TEXT', null, null],
    ['O_TOTALPRICE', 'NUMBER', 12, 2],
    ['O_ORDERDATE', 'DATE', null, null],
  ],
): void {
  fake.reply(/information_schema\.columns/i, {
    columns: [
      col.text('TABLE_CATALOG'),
      col.text('TABLE_SCHEMA'),
      col.text('TABLE_NAME'),
      col.text('COLUMN_NAME'),
      col.text('DATA_TYPE'),
      col.int('NUMERIC_PRECISION'),
      col.int('NUMERIC_SCALE'),
    ],
    rows: tables.flatMap(([schema, table]) => columns.map((c) => ['SHOPPING_PATTERNS', schema, table, ...c])),
  });
}

afterEach(async () => {
  await wh.close();
  await fake.close();
});

async function getBytes(k: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: k }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** What Snowflake would return for the aggregation: 5,000 rows over 25 months, ordered by month. */
function aggregatedRows(): Array<[string, number, string | null]> {
  const rows: Array<[string, number, string | null]> = [];
  for (let i = 0; i < 5000; i++) {
    const month = Math.floor(i / 200);
    const date =
      month === 24
        ? null
        : `${2022 + Math.floor(month / 12)}-${String((month % 12) + 1).padStart(2, '0')}-01`;
    rows.push([`S${i}`, (i * 137) / 100, date]);
  }
  return rows;
}

describe('transfer through Snowflake (fake REST API)', () => {
  it('stream mode sends the portable aggregation and writes a chunked result month by month', async () => {
    // Prepare
    const rows = aggregatedRows();
    // the result's columns are named by the aliases, which are quoted lower case
    fake.reply(/^select sum|^select "O_ORDERSTATUS"/i, {
      columns: [col.text('o_orderstatus'), col.decimal('o_totalprice', 2, 38), col.date('o_orderdate')],
      rows,
      chunkRows: 700,
    });

    // Act
    const result = await transferData(
      { source_table: 'public.orders', destination_s3_bucket: BUCKET, run_id: 'sf-1' },
      { warehouse: wh, s3: client, config: cfg },
    );

    // Assess: the statement
    const aggregation = fake.sql().find((s) => /group by/i.test(s))!;
    expect(aggregation).toContain('sum("O_TOTALPRICE") as "o_totalprice"');
    expect(aggregation).toContain(`cast(date_trunc('month', "O_ORDERDATE") as date) as "o_orderdate"`);
    expect(aggregation).toContain('from "SHOPPING_PATTERNS"."PUBLIC"."ORDERS"');
    expect(aggregation).toMatch(/order by 3 nulls last$/);
    expect(fake.chunkRequests).toBeGreaterThan(1);

    // the files: every row, in its month, as the adapter returns them (lower-cased names)
    expect(result).toMatchObject({
      file_name: 'transfer/public.orders/sf-1/_manifest.json',
      row_count: 5000,
      months: 25,
    });
    const manifest = JSON.parse((await getBytes(result.file_name)).toString('utf8')) as Manifest;
    expect(manifest.engine).toBe('snowflake');
    expect(manifest.columns.map((c) => c.name)).toEqual(['o_orderstatus', 'o_totalprice', 'o_orderdate']);
    const written: Row[] = [];
    for (const part of manifest.parts) {
      const lines = zlib
        .gunzipSync(await getBytes(part.key))
        .toString('utf8')
        .trimEnd()
        .split('\n');
      for (const line of lines) {
        const row = JSON.parse(line) as Row;
        const expectedPartition =
          row.o_orderdate === null ? 'month=__null__' : `month=${String(row.o_orderdate).slice(0, 7)}`;
        expect(part.partition).toBe(expectedPartition);
        written.push(row);
      }
    }
    expect(written).toEqual(rows.map(([s, p, d]) => ({ o_orderstatus: s, o_totalprice: p, o_orderdate: d })));
    expect(manifest.partitions.at(-1)?.partition).toBe('month=__null__');
  });

  it('unload mode: Snowflake writes the files through the export stage; the manifest lists them', async () => {
    // Prepare: the stage points at the bucket; an earlier attempt left an object under the run prefix
    fake.reply(/^desc stage "RAW"\."EXPORT_STAGE"$/i, {
      columns: [
        col.text('parent_property'),
        col.text('property'),
        col.text('property_type'),
        col.text('property_value'),
      ],
      rows: [['STAGE_LOCATION', 'URL', 'String', `["s3://${BUCKET}/snowflake/"]`]],
    });
    fake.reply(/^copy into @/i, {
      columns: [col.text('FILE_NAME'), col.int('FILE_SIZE'), col.int('ROW_COUNT')],
      rows: [
        ['month=2022-01/data_0_0_0.csv.gz', 1200, 200],
        ['month=2022-02/data_0_0_0.csv.gz', 1100, 180],
        ['month=__null__/data_0_0_0.csv.gz', 90, 3],
      ],
    });
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'snowflake/transfer/ORDERS/sf-u/month=2021-01/old.csv.gz',
        Body: 'x',
      }),
    );

    // Act
    const result = await transferData(
      {
        source_table: 'ORDERS',
        destination_s3_bucket: BUCKET,
        run_id: 'sf-u',
        mode: 'unload',
        format: 'csv.gz',
        max_file_size: 1_000_000,
      },
      { warehouse: wh, s3: client, config: cfg },
    );

    // Assess: the statement
    const copy = fake.sql().find((s) => /^copy into/i.test(s))!;
    expect(copy.split('\n')[0]).toBe('copy into @"RAW"."EXPORT_STAGE"/transfer/ORDERS/sf-u/');
    expect(copy).toContain(
      `partition by ('month=' || coalesce(to_varchar("o_orderdate", 'YYYY-MM'), '__null__'))`,
    );
    // the files' header names are the aliases: the same names as the stream mode and the manifest
    expect(copy).toContain('sum("O_TOTALPRICE") as "o_totalprice"');
    expect(copy).not.toMatch(/ as "O_/);
    expect(copy).toContain('max_file_size = 1000000');
    expect(copy).toContain('header = true');
    expect(copy).toContain('detailed_output = true');

    // the manifest, written by the function from the COPY output, and the stale object gone
    expect(result).toMatchObject({
      file_name: 'snowflake/transfer/ORDERS/sf-u/_manifest.json',
      row_count: 383,
      months: 3,
      mode: 'unload',
    });
    const manifest = JSON.parse((await getBytes(result.file_name)).toString('utf8')) as Manifest;
    expect(manifest.columns.map((c) => c.name)).toEqual(['o_orderstatus', 'o_totalprice', 'o_orderdate']);
    expect(manifest.parts.map((p) => [p.key, p.rows, p.bytes, p.sha256])).toEqual([
      ['snowflake/transfer/ORDERS/sf-u/month=2022-01/data_0_0_0.csv.gz', 200, 1200, null],
      ['snowflake/transfer/ORDERS/sf-u/month=2022-02/data_0_0_0.csv.gz', 180, 1100, null],
      ['snowflake/transfer/ORDERS/sf-u/month=__null__/data_0_0_0.csv.gz', 3, 90, null],
    ]);
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'snowflake/transfer/ORDERS/sf-u/' }),
    );
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([
      'snowflake/transfer/ORDERS/sf-u/_manifest.json',
    ]);
  });

  it('quotes a column created in lower case ("order_date") exactly as the catalog spells it', async () => {
    // Prepare
    fake.resetScripts();
    scriptRunClaims(fake);
    describeTables([['PUBLIC', 'ORDERS']], [
      ['order_date', 'DATE', null, null],
      ['AMOUNT', 'NUMBER', 12, 2],
    ]);
    fake.reply(/group by/i, { columns: [col.date('order_date'), col.decimal('amount', 2, 38)], rows: [['2024-01-01', '3.50']] });

    // Act
    const result = await transferData(
      { source_table: 'public.orders', destination_s3_bucket: BUCKET, run_id: 'sf-lower' },
      { warehouse: wh, s3: client, config: cfg },
    );

    // Assess
    const aggregation = fake.sql().find((s) => /group by/i.test(s))!;
    expect(aggregation).toContain(`cast(date_trunc('month', "order_date") as date) as "order_date"`);
    expect(aggregation).not.toContain('"ORDER_DATE"');
    expect(result.row_count).toBe(1);
  });

  it('resolves an unqualified name to its one schema, and refuses a name found in two', async () => {
    // Prepare: ORDERS in PUBLIC only
    fake.reply(/group by/i, { columns: [col.text('o_orderstatus'), col.decimal('o_totalprice', 2, 38), col.date('o_orderdate')], rows: [] });

    // Act
    await transferData({ source_table: 'ORDERS', destination_s3_bucket: BUCKET, run_id: 'sf-one' }, { warehouse: wh, s3: client, config: cfg });

    // Assess: the data is read from the same table the columns came from
    expect(fake.sql().find((s) => /group by/i.test(s))).toContain('from "SHOPPING_PATTERNS"."PUBLIC"."ORDERS"');

    // and ORDERS in two schemas is refused before any aggregation
    describeTables([['PUBLIC', 'ORDERS'], ['SALES', 'ORDERS']]);
    const before = fake.sql().filter((s) => /group by/i.test(s)).length;
    await expect(
      transferData({ source_table: 'ORDERS', destination_s3_bucket: BUCKET, run_id: 'sf-two' }, { warehouse: wh, s3: client, config: cfg }),
    ).rejects.toThrow(/table name ORDERS is ambiguous: it names SHOPPING_PATTERNS\.PUBLIC\.ORDERS, SHOPPING_PATTERNS\.SALES\.ORDERS; give it as schema\.table/);
    expect(fake.sql().filter((s) => /group by/i.test(s))).toHaveLength(before);
  });

  it('writes NUMBER sums beyond double precision exactly', async () => {
    // Prepare: Snowflake sends NUMBER(38,2) and NUMBER(38,0) as text; these do not fit a double
    fake.reply(/group by/i, {
      columns: [col.text('o_orderstatus'), col.decimal('o_totalprice', 2, 38), col.date('o_orderdate')],
      rows: [
        ['F', '99999999999999999.90', '2024-01-01'],
        ['O', '0.10', '2024-01-01'],
      ],
    });

    // Act
    const result = await transferData(
      { source_table: 'public.orders', destination_s3_bucket: BUCKET, run_id: 'sf-exact' },
      { warehouse: wh, s3: client, config: cfg },
    );

    // Assess: the digits as Snowflake sent them
    const manifest = JSON.parse((await getBytes(result.file_name)).toString('utf8')) as Manifest;
    const text = zlib.gunzipSync(await getBytes(manifest.parts[0]!.key)).toString('utf8');
    expect(text).toBe(
      '{"o_orderstatus":"F","o_totalprice":99999999999999999.90,"o_orderdate":"2024-01-01"}\n' +
        '{"o_orderstatus":"O","o_totalprice":0.10,"o_orderdate":"2024-01-01"}\n',
    );
    expect(manifest.columns.find((c) => c.name === 'o_totalprice')?.output_type).toBe('DECIMAL(38,2)');
  });

  it('claims the run in one transaction that first takes the lock row, and settles it', async () => {
    // Prepare
    fake.reply(/group by/i, { columns: [col.text('o_orderstatus'), col.decimal('o_totalprice', 2, 38), col.date('o_orderdate')], rows: [] });

    // Act
    const result = await transferData(
      { source_table: 'public.orders', destination_s3_bucket: BUCKET, run_id: 'sf-claim' },
      { warehouse: wh, s3: client, config: cfg },
    );

    // Assess: DDL outside the transaction (it would commit it), then lock, look, insert, commit
    const all = fake.statements.map((s) => ({ sql: s.sql.trim(), txn: s.txn }));
    const lock = all.findIndex((s) => /^update analytics\.run_claims_lock set holder/i.test(s.sql));
    const txn = all[lock]!.txn;
    expect(txn).not.toBeNull();
    const inTxn = all.filter((s) => s.txn === txn).map((s) => s.sql.split(/\s+/).slice(0, 4).join(' ').toLowerCase());
    expect(inTxn).toEqual([
      'begin',
      'update analytics.run_claims_lock set holder',
      'select * from analytics.run_claims',
      'select * from analytics.run_claims',
      'insert into analytics.run_claims (scope,',
      'commit',
    ]);
    expect(fake.transactions.get(txn!)).toBe('committed');
    expect(all.findIndex((s) => /^create table if not exists analytics\.run_claims/i.test(s.sql))).toBeLessThan(lock);
    const insert = fake.statements.find((s) => /^insert into analytics\.run_claims \(/i.test(s.sql.trim()))!;
    expect(insert.binds.slice(0, 1)).toEqual([`transfer:s3://${BUCKET}/transfer/public.orders/sf-claim`]);
    const settled = fake.statements.filter((s) => /^update analytics\.run_claims set status = 'succeeded'/i.test(s.sql.trim()));
    expect(settled).toHaveLength(1);
    expect(JSON.parse(String(settled[0]!.binds[1]))).toEqual(result);
  });

  it("a repeated run_id is answered from the claim's stored result, without reading the table", async () => {
    // Prepare: the claims table says this run succeeded
    const first = { file_name: 'transfer/public.orders/sf-done/_manifest.json', row_count: 7, timestamp: '2024-06-03T06:00:00.000Z', run_id: 'sf-done' };
    const request = { source_table: 'public.orders', destination_s3_bucket: BUCKET, run_id: 'sf-done' };
    const { fingerprintOf } = await import('../../shared/publish/claims');
    const { parseTransferRequest } = await import('../../shared/transfer');
    const scope = `transfer:s3://${BUCKET}/transfer/public.orders/sf-done`;
    fake.reply(/^select \* from analytics\.run_claims where request_key = \? and status = 'succeeded'/i, {
      columns: ['SCOPE', 'REQUEST_KEY', 'FINGERPRINT', 'RUN_ID', 'HOLDER', 'STATUS', 'STARTED_AT', 'LEASE_UNTIL', 'RESULT'].map((n) =>
        n.endsWith('_AT') || n === 'LEASE_UNTIL' ? col.ts(n) : col.text(n),
      ),
      rows: [[scope, scope, fingerprintOf(parseTransferRequest(request)), 'sf-done', 'h1', 'succeeded', '2024-06-03 06:00:00', '2024-06-03 06:02:00', JSON.stringify(first)]],
    });

    // Act
    const result = await transferData(request, { warehouse: wh, s3: client, config: cfg });

    // Assess
    expect(result).toEqual(first);
    expect(fake.sql().some((s) => /information_schema|group by/i.test(s))).toBe(false);
    expect(fake.sql().some((s) => /^insert into analytics\.run_claims \(/i.test(s.trim()))).toBe(false);
  });

  it('unload mode refuses a destination that is not the export stage bucket, before COPY', async () => {
    fake.reply(/^desc stage/i, {
      columns: [col.text('property'), col.text('property_value')],
      rows: [['URL', '["s3://somewhere-else/"]']],
    });
    await expect(
      transferData(
        { source_table: 'ORDERS', destination_s3_bucket: BUCKET, mode: 'unload' },
        { warehouse: wh, s3: client, config: cfg },
      ),
    ).rejects.toThrow(/points at s3:\/\/somewhere-else\/, not at exports/);
    expect(fake.sql().some((s) => /^copy into/i.test(s))).toBe(false);
  });

  it('unload mode is refused on DuckDB and with pseudonymise', async () => {
    await expect(
      transferData({
        source_table: 'ORDERS',
        destination_s3_bucket: BUCKET,
        mode: 'unload',
        pseudonymise: ['O_ORDERSTATUS'],
      }),
    ).rejects.toThrow(/unload cannot pseudonymise/);
  });
});
