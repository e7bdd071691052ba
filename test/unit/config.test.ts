import { ConfigError } from '../../shared/errors';
import { loadConfig } from '../../shared/config';
import { routeKey } from '../../shared/events/routing';

describe('config', () => {
  it('needs nothing on the local stage', () => {
    const cfg = loadConfig({});
    expect(cfg.stage).toBe('local');
    expect(cfg.buckets).toEqual({ landing: 'landing', exports: 'exports' });
    expect(cfg.s3Endpoint).toBe('http://127.0.0.1:4566');
    expect(cfg.warehouse.engine).toBe('duckdb');
  });

  it('honours LOCAL_S3_PORT', () => {
    expect(loadConfig({ LOCAL_S3_PORT: '4999' }).s3Endpoint).toBe('http://127.0.0.1:4999');
  });

  it('names every missing variable of an AWS stage (in Lambda the key must come from a secret)', () => {
    const lambda = { STAGE: 'dev', AWS_LAMBDA_FUNCTION_NAME: 'shopping-patterns-dev-ingest' };
    expect(() => loadConfig(lambda)).toThrow(ConfigError);
    expect(() => loadConfig(lambda)).toThrow(/LANDING_BUCKET: required[\s\S]*EXPORTS_BUCKET: required[\s\S]*SNOWFLAKE_SECRET_ARN: required/);
  });

  describe('Snowflake key source', () => {
    const dev = { STAGE: 'dev', LANDING_BUCKET: 'l-bucket', EXPORTS_BUCKET: 'e-bucket' };

    it("accepts an operator's key file instead of a secret outside Lambda (the runbook's admin setup)", () => {
      // Act
      const cfg = loadConfig({ ...dev, SNOWFLAKE_PRIVATE_KEY_PATH: '/home/op/.ssh/snowflake_admin.p8' });

      // Assess
      expect(cfg.warehouse).toMatchObject({ engine: 'snowflake', secretArn: undefined });
    });

    it('needs no key at all to load outside Lambda (redrive, dry runs): the first login asks for one', () => {
      expect(loadConfig(dev).warehouse).toMatchObject({ engine: 'snowflake', secretArn: undefined });
    });

    it('refuses a key from the environment in Lambda, and both sources at once anywhere', () => {
      const lambda = { ...dev, AWS_LAMBDA_FUNCTION_NAME: 'fn' };
      expect(() => loadConfig({ ...lambda, SNOWFLAKE_PRIVATE_KEY_PATH: '/k.p8' })).toThrow(
        /SNOWFLAKE_PRIVATE_KEY_PATH: not allowed in Lambda/,
      );
      expect(() => loadConfig({ ...lambda, SNOWFLAKE_PRIVATE_KEY: 'pem' })).toThrow(/SNOWFLAKE_PRIVATE_KEY: not allowed/);
      expect(() =>
        loadConfig({ ...dev, SNOWFLAKE_SECRET_ARN: 'arn:aws:secretsmanager:x', SNOWFLAKE_PRIVATE_KEY_PATH: '/k.p8' }),
      ).toThrow(/both set/);
      // sls invoke local is a workstation run
      expect(loadConfig({ ...lambda, IS_LOCAL: 'true', SNOWFLAKE_PRIVATE_KEY_PATH: '/k.p8' }).stage).toBe('dev');
    });
  });

  it('names malformed variables with their problem', () => {
    const attempt = () => loadConfig({ STAGE: 'qa', INGEST_BATCH_SIZE: 'ten', WAREHOUSE_ENGINE: 'postgres' });
    expect(attempt).toThrow(/STAGE: .*"local"/);
    expect(attempt).toThrow(/INGEST_BATCH_SIZE/);
    expect(attempt).toThrow(/WAREHOUSE_ENGINE/);
  });

  it('rejects a routing table that is not JSON or has a bad regex', () => {
    expect(() => loadConfig({ DATASET_ROUTES: 'customers.csv' })).toThrow(/DATASET_ROUTES: must be JSON/);
    expect(() => loadConfig({ DATASET_ROUTES: '[{"dataset":"customers","pattern":"("}]' })).toThrow(
      /DATASET_ROUTES.*not a valid regular expression/,
    );
    expect(() => loadConfig({ DATASET_ROUTES: '[{"dataset":"orders","pattern":"x"}]' })).toThrow(/DATASET_ROUTES/);
  });

  it('accepts a complete dev configuration with freshness as error on prod', () => {
    const env = { LANDING_BUCKET: 'l-bucket', EXPORTS_BUCKET: 'e-bucket', SNOWFLAKE_SECRET_ARN: 'arn:aws:secretsmanager:x' };
    expect(loadConfig({ ...env, STAGE: 'dev' }).freshness.severity).toBe('warn');
    const prod = loadConfig({ ...env, STAGE: 'prod' });
    expect(prod.freshness.severity).toBe('error');
    expect(prod.s3Endpoint).toBeUndefined();
    expect(prod.warehouse.engine).toBe('snowflake');
  });
});

describe('key routing', () => {
  const { routes } = loadConfig({});
  it.each([
    ['customers.csv', 'customers'],
    ['starter/customers.csv', 'customers'],
    ['a/b/products.csv', 'products'],
    ['transactions/d=2019-10-01/transactions.json', 'transactions'],
    ['starter/transactions/d=2019-10-01/part 1.jsonl.gz', 'transactions'],
    ['transactions/d=2019-10-01/transactions.csv', undefined],
    ['transactions/2019-10-01/transactions.json', undefined],
    ['mycustomers.csv', undefined],
    ['readme.txt', undefined],
  ])('%s -> %s', (key, dataset) => expect(routeKey(key, routes)).toBe(dataset));

  it('uses a configured table, first match wins', () => {
    const cfg = loadConfig({ DATASET_ROUTES: '[{"dataset":"products","pattern":"^catalogue/"},{"dataset":"customers","pattern":"\\\\.csv$"}]' });
    expect(routeKey('catalogue/x.csv', cfg.routes)).toBe('products');
    expect(routeKey('people.csv', cfg.routes)).toBe('customers');
  });
});
