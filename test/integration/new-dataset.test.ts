/**
 * A dataset is one declaration (docs/EXTENDING.md): this test declares `returns`, JSON Lines, here and
 * nowhere else, and loads it end to end on the local stack (bad lines quarantined with their reasons),
 * then renders its Snowflake DDL and load SQL and runs them through the Snowflake path against the
 * executing fake: the same rows come out. No other file of the project knows about `returns`.
 */
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createIngest } from '../../functions/ingest';
import { startStack } from '../../local/stack';
import { loadConfig, resetConfig } from '../../shared/config';
import { DatasetRegistry, DEFAULT_DATASETS, type DatasetDecl } from '../../shared/datasets';
import { appendSql, generatedSnowflakeScripts } from '../../shared/ingest/landing/stage-sql';
import { setLogSink } from '../../shared/logger';
import { migrate, snowflakeParameters } from '../../shared/migrate';
import { createS3Client, setS3Client } from '../../shared/storage/object-store';
import { setWarehouse, warehouse } from '../../shared/warehouse';
import { SnowflakeWarehouse } from '../../shared/warehouse/snowflake';
import { FakeSnowflake } from '../support/fake-snowflake';
import { fakeSnowflakeConfig, fakeSnowflakeEnv, keyPairCredentials } from '../support/fake-snowflake/config';
import { SnowflakeEngine } from '../support/fake-snowflake/engine';
import { generateKeyPair } from '../support/fake-snowflake/keys';
import { s3Record, sqsEvent, sqsRecordFor } from '../support/events';
import { scratchDir } from '../support/factories';

jest.setTimeout(90_000);

const returns: DatasetDecl = {
  name: 'returns',
  keyPattern: '(^|/)returns/d=\\d{4}-\\d{2}-\\d{2}/[^/]+\\.jsonl$',
  format: 'jsonl',
  kind: 'append',
  fields: [
    { name: 'return_id', type: 'text', required: true },
    { name: 'customer_id', type: 'text', required: true },
    { name: 'amount', type: 'decimal', required: true, precision: 12, scale: 2 },
    { name: 'returned_at', type: 'timestamp', required: true },
    { name: 'note', type: 'text' },
  ],
  tables: [
    {
      name: 'returns',
      grain: 'one row per return',
      columns: [
        { name: 'return_id', from: 'return_id' },
        { name: 'customer_id', from: 'customer_id' },
        { name: 'amount', from: 'amount' },
        { name: 'returned_at', from: 'returned_at' },
        { name: 'note', from: 'note' },
      ],
    },
  ],
};
const registry = new DatasetRegistry([...DEFAULT_DATASETS, returns]);

const KEY = 'returns/d=2024-06-01/returns.jsonl';
const BODY =
  [
    JSON.stringify({ return_id: 'R1', customer_id: 'C1', amount: 12.5, returned_at: '2024-06-01 10:00:00' }),
    JSON.stringify({ return_id: 'R2', customer_id: 'C2', amount: 3, returned_at: '2024-06-01 11:00:00', note: 'damaged' }),
    '{"return_id": "R3"',
    JSON.stringify({ return_id: 'R4', customer_id: 'C4', amount: 'lots', returned_at: '2024-06-01 12:00:00' }),
    JSON.stringify({ return_id: 'R5', customer_id: 'C5', amount: 1e12, returned_at: '2024-06-01 12:00:00' }),
    JSON.stringify({ return_id: 'R6', customer_id: 'C6', amount: 1, returned_at: 'noon' }),
  ].join('\n') + '\n';
const EXPECTED_ROWS = [
  ['R1', 'C1', 12.5, '2024-06-01 10:00:00', null],
  ['R2', 'C2', 3, '2024-06-01 11:00:00', 'damaged'],
];
const EXPECTED_QUARANTINE = [
  [3, 'invalid JSON'],
  [4, 'amount is not a number'],
  [5, 'amount out of range'],
  [6, 'invalid returned_at'],
];

it('loads a dataset declared in this test on the local stack, bad lines quarantined', async () => {
  const scratch = scratchDir();
  const stack = await startStack({ dir: path.join(scratch.dir, 'stack'), s3Port: 0, sqsPort: 0, datasets: registry, batchWindowMs: 50 });
  try {
    await createS3Client(stack.config).send(new PutObjectCommand({ Bucket: 'landing', Key: KEY, Body: BODY }));
    await stack.waitForIdle({ timeoutMs: 30_000, settleMs: 300 });
    const rows = await warehouse().query(`select return_id, customer_id, amount, cast(returned_at as varchar) as returned_at, note from raw.returns order by return_id`);
    expect(rows.map((r) => Object.values(r))).toEqual(EXPECTED_ROWS);
    const quarantine = await warehouse().query(`select line_number, reason from raw.quarantine where dataset = 'returns' order by line_number`);
    expect(quarantine.map((q) => [Number(q.line_number), q.reason])).toEqual(EXPECTED_QUARANTINE);
    expect(await warehouse().query(`select status, rows_loaded, rows_quarantined from raw.file_ledger where key = ?`, [KEY])).toEqual([
      { status: 'loaded', rows_loaded: 2, rows_quarantined: 4 },
    ]);
  } finally {
    await stack.stop();
    scratch.remove();
  }
});

it('renders its Snowflake DDL and load SQL, which load the same rows through the Snowflake path', async () => {
  // the DDL and SQL, as text
  const scripts = generatedSnowflakeScripts(registry);
  expect(scripts[0]!.text).toMatch(
    /create table if not exists \{\{DATABASE\}\}\.raw\.returns_appended \(\n {2}return_id\s+varchar,\n {2}customer_id\s+varchar,\n {2}amount\s+number\(12, 2\),\n {2}returned_at\s+timestamp_ntz,\n {2}note\s+varchar,\n {2}_load_id\s+varchar not null,\n {2}_line_number\s+integer not null\n\)/,
  );
  expect(scripts[1]!.text).toContain('create or replace function {{DATABASE}}.raw.judge_returns(line varchar, line_number double)');
  expect(scripts[2]!.text).toContain("create pipe if not exists {{DATABASE}}.raw.returns_pipe");
  const load = appendSql({ database: 'SP', stage: 'RAW.LANDING_STAGE' }, registry, returns, [{ key: KEY, loadId: 'L', linesModified: '2024-06-01 00:00:00' }], '2024-06-02 00:00:00');
  expect(load.sql).toContain('into SP.raw.returns_appended');
  expect(load.sql).toContain('table(SP.raw.judge_returns(f.line, f.line_number::double)');

  // and run: migrate with this registry, then the real handler for this registry, on the Snowflake path
  const key = generateKeyPair();
  const saved = { ...process.env };
  const s3 = mockClient(S3Client);
  setLogSink(() => undefined);
  const fake = await FakeSnowflake.start({ account: 'TESTACCOUNT', user: 'LOADER', publicKeys: [key.publicKey] });
  const engine = await SnowflakeEngine.attach(fake);
  Object.assign(process.env, fakeSnowflakeEnv(fake.url));
  resetConfig();
  const wh = new SnowflakeWarehouse(fakeSnowflakeConfig(fake, { user: 'loader', role: 'SP_LOADER' }), { credentials: keyPairCredentials(key) });
  try {
    setWarehouse(wh);
    await migrate(wh, { admin: true, registry, params: snowflakeParameters(loadConfig(process.env), process.env) });
    const object = engine.put(KEY, BODY, new Date(Date.UTC(2024, 5, 1, 13)));
    setS3Client(new S3Client({ region: 'eu-west-2' }));
    s3.on(HeadObjectCommand).resolves({ ETag: `"${object.etag}"`, LastModified: object.lastModified, ContentLength: object.bytes.length });
    const result = await createIngest(registry)(sqsEvent([sqsRecordFor([s3Record({ key: KEY, eTag: object.etag })])]));
    expect(result.batchItemFailures).toEqual([]);
    const rows = await engine.query(`select return_id, customer_id, amount, cast(returned_at as varchar) as returned_at, note from raw.returns order by return_id`);
    expect(rows.map((r) => Object.values(r).map((v, i) => (i === 2 ? Number(v) : v)))).toEqual(EXPECTED_ROWS);
    const quarantine = await engine.query(`select line_number, reason from raw.quarantine where dataset = 'returns' order by line_number`);
    expect(quarantine.map((q) => [Number(q.line_number), q.reason])).toEqual(EXPECTED_QUARANTINE);
  } finally {
    setWarehouse(undefined);
    setS3Client(undefined);
    s3.restore();
    await wh.close();
    await fake.idle();
    await fake.close();
    process.env = saved;
    resetConfig();
    setLogSink((line) => process.stderr.write(line + '\n'));
  }
});
