/**
 * The fake Snowflake honours the documented behaviours the code relies on, whatever its scripts say,
 * through the real snowflake-sdk and SnowflakeWarehouse:
 * - a statement Snowflake would not compile is refused with 001003 (reserved keyword as identifier,
 *   not Snowflake SQL), https://docs.snowflake.com/en/sql-reference/reserved-keywords;
 * - NOT NULL is enforced (100072), https://docs.snowflake.com/en/sql-reference/constraints-overview;
 * - DDL inside a transaction commits it, https://docs.snowflake.com/en/sql-reference/transactions#ddl.
 * Each violation is also recorded for the shared afterEach; these tests take them to expect them.
 */
import { TerminalError } from '../../shared/errors';
import { setLogSink } from '../../shared/logger';
import { SnowflakeWarehouse } from '../../shared/warehouse/snowflake';
import { FakeSnowflake } from '../support/fake-snowflake';
import { fakeSnowflakeConfig, keyPairCredentials } from '../support/fake-snowflake/config';
import { generateKeyPair } from '../support/fake-snowflake/keys';
import { RULES } from '../support/snowflake-rules';

const key = generateKeyPair();
let fake: FakeSnowflake;
let wh: SnowflakeWarehouse;

beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink((line) => process.stderr.write(line + '\n')));

beforeEach(async () => {
  fake = await FakeSnowflake.start({ account: 'TESTACCOUNT', user: 'LOADER', publicKeys: [key.publicKey] });
  wh = new SnowflakeWarehouse(fakeSnowflakeConfig(fake), { credentials: keyPairCredentials(key), statementTimeoutMs: 20_000 });
});

afterEach(async () => {
  await wh.close();
  await fake.idle();
  await fake.close();
});

it('refuses a reserved keyword used as an identifier with a SQL compilation error, even when a reply is scripted', async () => {
  // Prepare
  fake.reply(/from analytics\.data_test_results/i, { columns: [], rows: [] });
  // Act
  const attempt = wh.query('select run_id, sample from analytics.data_test_results');
  // Assess
  await expect(attempt).rejects.toThrow(TerminalError);
  await expect(attempt).rejects.toThrow(/SQL compilation error: SAMPLE is used as a column reference.*reserved-keywords/);
  expect(fake.takeViolations().map((v) => v.rule.id)).toEqual([RULES.reserved.id]);
});

it('accepts the same statement with the identifier quoted', async () => {
  await expect(wh.query('select run_id, "SAMPLE" from analytics.data_test_results')).resolves.toEqual([]);
});

it('enforces NOT NULL: an INSERT that leaves a NOT NULL column out, or binds NULL to one, fails with 100072', async () => {
  // Act
  const missing = wh.execute("insert into raw.quarantine_appended (_load_id, raw_text) values ('L1', 'a.json')");
  const nullBind = wh.execute(
    'insert into raw.quarantine_appended (_load_id, dataset, line_number, raw_text, reason, fatal, quarantined_at) values (?, ?, ?, ?, ?, ?, ?)',
    [null, 'transactions', 1, null, 'bad json', false, '2024-01-01 00:00:00'],
  );
  // Assess
  await expect(missing).rejects.toThrow(/NULL result in a non-nullable column.*DATASET, LINE_NUMBER, REASON, FATAL, QUARANTINED_AT/);
  await expect(nullBind).rejects.toThrow(/NULL result in a non-nullable column.*NULL for NOT NULL column _LOAD_ID/);
  expect(fake.takeViolations().map((v) => v.rule.id)).toEqual([RULES.insertNotNull.id, RULES.insertNotNull.id]);
});

it('lets NULL into a nullable column', async () => {
  await expect(
    wh.execute(
      'insert into raw.quarantine_appended (_load_id, dataset, line_number, raw_text, reason, fatal, quarantined_at) values (?, ?, ?, ?, ?, ?, ?)',
      ['L1', 'transactions', 1, null, 'bad json', false, '2024-01-01 00:00:00'],
    ),
  ).resolves.toBe(0);
});

it('learns a table created in the test and enforces its NOT NULL columns', async () => {
  await wh.execute('create table if not exists analytics.t (id varchar not null, note varchar)');
  await expect(wh.execute("insert into analytics.t (note) values ('x')")).rejects.toThrow(/non-nullable.*ID/);
  fake.takeViolations();
});

it('commits the open transaction when DDL runs inside it: the ROLLBACK after it undoes nothing', async () => {
  // Act: the code expects the insert to be undone with the failed transaction
  const attempt = wh.transaction(async (tx) => {
    await tx.execute("insert into raw.cut_loads (load_id, dataset, bucket, key, version, recorded_at, cut_at) values ('L1', 'customers', 'b', 'k', 'v', '2024-01-01', '2024-01-01')");
    await tx.execute('create table if not exists analytics.scratch (id integer)');
    throw new Error('something later fails');
  });
  // Assess
  await expect(attempt).rejects.toThrow('something later fails');
  expect([...fake.transactions.values()]).toEqual(['committed']);
  expect(fake.implicitCommits.map((c) => c.sql)).toEqual(['create table if not exists analytics.scratch (id integer)']);
  const ddl = fake.statements.find((s) => /^create table/.test(s.sql));
  expect(ddl?.txn).toBeNull(); // the DDL ran as its own transaction
  const violations = fake.takeViolations();
  expect(violations.map((v) => v.rule.id)).toEqual([RULES.ddlCommitsTransaction.id]);
  expect(violations[0]?.rule.url).toBe('https://docs.snowflake.com/en/sql-reference/transactions#ddl');
});

it('keeps a transaction of DML only atomic', async () => {
  await expect(
    wh.transaction(async (tx) => {
      await tx.execute("insert into raw.cut_loads (load_id, dataset, bucket, key, version, recorded_at, cut_at) values ('L1', 'customers', 'b', 'k', 'v', '2024-01-01', '2024-01-01')");
      throw new Error('fails');
    }),
  ).rejects.toThrow('fails');
  expect([...fake.transactions.values()]).toEqual(['rolled back']);
  expect(fake.implicitCommits).toEqual([]);
});
