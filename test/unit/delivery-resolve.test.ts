/**
 * Where a request delivers: a named destination (its fixed options win), a bucket of this account
 * (TRANSFER_ALLOWED_BUCKETS, as before destinations), or the destination that names a bucket; and
 * the refusals, each naming why.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { resolveTransfer } from '../../shared/delivery/resolve';
import { FileDestinationStore } from '../../shared/delivery/store';
import { InvalidInputError } from '../../shared/errors';
import { parseTransferRequest } from '../../shared/transfer';
import { acme } from '../support/destinations';
import { scratchDir } from '../support/factories';

let scratch: { dir: string; remove: () => void };
let store: FileDestinationStore;
const PREFIX = 'shopping-patterns-delivery-';
const cfg = (env: Record<string, string> = {}) => loadConfig({ STAGE: 'local', ...env });

beforeEach(async () => {
  scratch = scratchDir('sp-resolve-');
  store = new FileDestinationStore(path.join(scratch.dir, 'destinations.json'), PREFIX);
  await store.put(acme({ prefix: 'shopping', format: 'csv.gz', pseudonymise: ['CUSTOMER_ID'], kms_key_arn: 'arn:aws:kms:eu-west-2:111122223333:key/k1' }));
  await store.put(acme({ name: 'beta-one', bucket: 'shared-drop', access: { type: 'bucket_policy' }, prefix: 'one' }));
  await store.put(acme({ name: 'beta-two', bucket: 'shared-drop', access: { type: 'bucket_policy' }, prefix: 'two' }));
});
afterEach(() => scratch.remove());

describe('a request naming a destination', () => {
  it("delivers to its bucket, owner, role and key, with its fixed options and the request's others", async () => {
    const { req, target } = await resolveTransfer({ source_table: 'T', destination: 'acme', pseudonymise: ['EMAIL'], columns: ['A'] }, { config: cfg(), store });
    expect(req).toEqual({
      source_table: 'T',
      destination: 'acme',
      destination_s3_bucket: 'acme-drop',
      prefix: 'shopping',
      format: 'csv.gz',
      mode: 'stream',
      columns: ['A'],
      pseudonymise: ['CUSTOMER_ID', 'EMAIL'],
    });
    expect(target).toEqual({
      name: 'acme',
      bucket: 'acme-drop',
      region: 'eu-west-2',
      ownerAccountId: '111122223333',
      access: acme().access,
      kmsKeyArn: 'arn:aws:kms:eu-west-2:111122223333:key/k1',
    });
  });

  it('may repeat a fixed option but not change it, nor name another bucket', async () => {
    await expect(resolveTransfer({ source_table: 'T', destination: 'acme', format: 'csv.gz' }, { config: cfg(), store })).resolves.toBeDefined();
    await expect(resolveTransfer({ source_table: 'T', destination: 'acme', format: 'parquet' }, { config: cfg(), store })).rejects.toThrow(
      /destination acme fixes format to "csv.gz"; leave format out of the request/,
    );
    await expect(resolveTransfer({ source_table: 'T', destination: 'acme', prefix: 'x' }, { config: cfg(), store })).rejects.toThrow(/fixes prefix/);
    await expect(resolveTransfer({ source_table: 'T', destination: 'acme', destination_s3_bucket: 'exports' }, { config: cfg(), store })).rejects.toThrow(
      /destination acme delivers to bucket acme-drop, not exports/,
    );
  });

  it('refuses an unknown destination, and unload through a stakeholder role', async () => {
    await expect(resolveTransfer({ source_table: 'T', destination: 'nobody' }, { config: cfg(), store })).rejects.toThrow(/no destination named nobody \(file /);
    await expect(resolveTransfer({ source_table: 'T', destination: 'acme', mode: 'unload' }, { config: cfg(), store })).rejects.toThrow(/use mode "stream"/);
  });
});

describe('a request naming only a bucket', () => {
  it('is exactly what it was before destinations for a bucket of this account: same request, owner this account', async () => {
    const input = { source_table: 'T', destination_s3_bucket: 'exports', format: 'parquet' as const };
    const { req, target } = await resolveTransfer(input, { config: cfg({ TRANSFER_ALLOWED_BUCKETS: 'exports' }), store });
    expect(req).toEqual(parseTransferRequest(input));
    expect(target).toEqual({ name: undefined, bucket: 'exports', region: 'eu-west-2', ownerAccountId: '000000000000', access: { type: 'own' } });
  });

  it('goes to the destination that names the bucket; with several, to the one whose prefix it gives', async () => {
    expect((await resolveTransfer({ source_table: 'T', destination_s3_bucket: 'acme-drop' }, { config: cfg(), store })).target.name).toBe('acme');
    expect((await resolveTransfer({ source_table: 'T', destination_s3_bucket: 'shared-drop', prefix: 'two' }, { config: cfg(), store })).target.name).toBe('beta-two');
    await expect(resolveTransfer({ source_table: 'T', destination_s3_bucket: 'shared-drop' }, { config: cfg(), store })).rejects.toThrow(
      /bucket shared-drop belongs to several destinations \(beta-one, beta-two\): name one/,
    );
  });

  it('is refused when TRANSFER_ALLOWED_BUCKETS is set and no destination names it; allowed (this account) when it is not set', async () => {
    await expect(resolveTransfer({ source_table: 'T', destination_s3_bucket: 'other' }, { config: cfg({ TRANSFER_ALLOWED_BUCKETS: 'exports' }), store })).rejects.toThrow(
      /destination bucket other is not allowed \(TRANSFER_ALLOWED_BUCKETS: exports\), and no destination names it/,
    );
    expect((await resolveTransfer({ source_table: 'T', destination_s3_bucket: 'other' }, { config: cfg(), store })).target.access).toEqual({ type: 'own' });
  });

  it('is refused, not rerouted, when the destination naming its bucket is malformed', async () => {
    const file = path.join(scratch.dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ destinations: [{ ...acme(), name: 'bad', bucket: 'bad-drop', account_id: '12' }] }));
    await expect(
      resolveTransfer({ source_table: 'T', destination_s3_bucket: 'bad-drop' }, { config: cfg(), store: new FileDestinationStore(file, PREFIX) }),
    ).rejects.toThrow(/destination bad names bucket bad-drop but is invalid .*account_id/);
  });

  it('never the landing bucket, whatever names it', async () => {
    await expect(resolveTransfer({ source_table: 'T', destination_s3_bucket: 'landing' }, { config: cfg(), store })).rejects.toThrow(/is the landing bucket/);
    await store.put(acme({ name: 'sneaky', bucket: 'landing' }));
    await expect(resolveTransfer({ source_table: 'T', destination: 'sneaky' }, { config: cfg(), store })).rejects.toThrow(/is the landing bucket/);
  });

  it('a request naming neither is bad input', async () => {
    await expect(resolveTransfer({ source_table: 'T' }, { config: cfg(), store })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(resolveTransfer({ source_table: 'T', destination: 'Bad Name' }, { config: cfg(), store })).rejects.toThrow(/destination: must be a destination name/);
  });
});
