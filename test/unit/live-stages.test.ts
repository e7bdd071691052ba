/** The live tier's stage SQL (test/live/stages.ts) and the landing's reading of internal-stage names. */
import { stagePath } from '../../shared/ingest/landing/stage-sql';
import { internalStageStatements, putStatement, stagedFromList } from '../live/stages';

const names = { database: 'SHOPPING_PATTERNS_LIVE_0A1B2C3D', stage: 'RAW.LANDING_STAGE' };

describe('internal stages for the live tier', () => {
  it('PUTs a file under its key folder, uncompressed, with the URI and the stage path quoted', () => {
    expect(putStatement(names, '/tmp/c/transactions/d=2019-10-01/transactions.json', 'transactions/d=2019-10-01/transactions.json')).toBe(
      "put 'file:///tmp/c/transactions/d=2019-10-01/transactions.json' '@SHOPPING_PATTERNS_LIVE_0A1B2C3D.RAW.LANDING_STAGE/transactions/d=2019-10-01/' auto_compress = false overwrite = true",
    );
    expect(putStatement(names, '/tmp/c/customers.csv', 'customers.csv')).toMatch(/'@SHOPPING_PATTERNS_LIVE_0A1B2C3D\.RAW\.LANDING_STAGE' auto_compress/);
    expect(() => putStatement(names, 'c/customers.csv', 'customers.csv')).toThrow(/absolute/);
    expect(() => putStatement(names, '/tmp/c/x.csv', 'customers.csv')).toThrow(/not named as the key/);
  });

  it('reads LIST rows of an internal stage as keys, md5 and last-modified seconds', () => {
    const files = stagedFromList(
      [{ name: 'landing_stage/transactions/d=2019-10-01/transactions.json', size: 10, md5: 'abc', last_modified: 'Tue, 5 Mar 2024 10:00:07 GMT' }],
      names,
    );
    expect(files).toEqual([{ key: 'transactions/d=2019-10-01/transactions.json', etag: 'abc', size: 10, lastModified: new Date('2024-03-05T10:00:07Z') }]);
    expect(stagedFromList([{ name: 's3://bucket/customers.csv', size: 1, md5: 'x', last_modified: 'Tue, 5 Mar 2024 10:00:07 GMT' }], names)[0]!.key).toBe('customers.csv');
  });

  it('creates both stages without URL or integration', () => {
    const [landing, exports] = internalStageStatements(names.database, 'RAW.LANDING_STAGE', 'RAW.EXPORT_STAGE');
    expect(landing).toMatch(/^create stage if not exists SHOPPING_PATTERNS_LIVE_0A1B2C3D\.RAW\.LANDING_STAGE\s+file_format = \(format_name = 'SHOPPING_PATTERNS_LIVE_0A1B2C3D\.raw\.lines_format'\)/);
    expect(`${landing}${exports}`).not.toMatch(/url|storage_integration/i);
  });

  it("maps COPY's file names to keys: URLs, and an internal stage's '<stage>/<path>' when the names are given", () => {
    expect(stagePath('s3://landing/a/b.json')).toBe('a/b.json');
    expect(stagePath('landing_stage/a/b.json', names)).toBe('a/b.json');
    expect(stagePath('LANDING_STAGE/a/b.json', names)).toBe('a/b.json');
    expect(stagePath('landing_stage/a/b.json')).toBe('landing_stage/a/b.json');
    expect(stagePath('other/a/b.json', names)).toBe('other/a/b.json');
  });
});
