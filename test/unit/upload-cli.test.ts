/** The upload command line: arguments, the target stage's configuration, key prefixes. */
import { ConfigError, InvalidInputError } from '../../shared/errors';
import { parseUploadArgs, uploadConfig } from '../../local/cli/upload';
import { normalizePrefix, objectKey } from '../../local/upload';

describe('parseUploadArgs', () => {
  it('defaults to the local stage, no prefix, 8 files at a time', () => {
    expect(parseUploadArgs(['data'])).toEqual({ dir: 'data', prefix: '', stage: 'local', concurrency: 8 });
  });

  it('reads the prefix, stage and concurrency', () => {
    expect(parseUploadArgs(['--prefix', 'starter', 'data', '--stage', 'dev', '--concurrency', '2'])).toEqual({
      dir: 'data',
      prefix: 'starter',
      stage: 'dev',
      concurrency: 2,
    });
  });

  it.each([
    [[], /folder to upload is required/],
    [['a', 'b'], /one folder only/],
    [['a', '--stage', 'prod'], /--stage must be local or dev/],
    [['a', '--concurrency', 'many'], /--concurrency must be a whole number/],
    [['a', '--bucket', 'x'], /Unknown option '--bucket'/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseUploadArgs(argv as string[])).toThrow(InvalidInputError);
    expect(() => parseUploadArgs(argv as string[])).toThrow(message as RegExp);
  });
});

describe('uploadConfig', () => {
  it('local: the loopback endpoint on LOCAL_S3_PORT and bucket landing', () => {
    const cfg = uploadConfig('local', { LOCAL_S3_PORT: '4777' });
    expect(cfg.s3Endpoint).toBe('http://127.0.0.1:4777');
    expect(cfg.buckets.landing).toBe('landing');
  });

  it('dev: the bucket from LANDING_BUCKET, the regional AWS endpoint, no warehouse settings demanded', () => {
    const cfg = uploadConfig('dev', {
      LANDING_BUCKET: 'shopping-patterns-dev-landing',
      AWS_REGION: 'eu-west-1',
    });
    expect(cfg.buckets.landing).toBe('shopping-patterns-dev-landing');
    expect(cfg.s3Endpoint).toBeUndefined();
    expect(cfg.region).toBe('eu-west-1');
  });

  it('dev without LANDING_BUCKET names the variable', () => {
    expect(() => uploadConfig('dev', {})).toThrow(ConfigError);
    expect(() => uploadConfig('dev', {})).toThrow(/LANDING_BUCKET: required for --stage dev/);
  });
});

describe('object keys', () => {
  it.each([
    ['', 'customers.csv', 'customers.csv'],
    ['starter', 'customers.csv', 'starter/customers.csv'],
    [
      '/starter/',
      'transactions/d=2020-01-01/transactions.json',
      'starter/transactions/d=2020-01-01/transactions.json',
    ],
    ['a/b', 'x y.csv', 'a/b/x y.csv'],
  ])('prefix %j + %j is %j', (prefix, relative, key) => {
    expect(objectKey(prefix, relative)).toBe(key);
  });

  it('normalizes only leading slashes and the trailing separator', () => {
    expect(normalizePrefix(undefined)).toBe('');
    expect(normalizePrefix('//x')).toBe('x/');
  });
});
