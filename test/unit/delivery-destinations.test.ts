/**
 * Destinations as data: the schema (what is refused, with the reason named), the local file store
 * (a malformed entry named, the others usable) and the SSM Parameter Store store (aws-sdk-client-mock).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { FileDestinationStore, parseDestination, SsmDestinationStore } from '../../shared/delivery/store';
import { InvalidInputError } from '../../shared/errors';
import { acme } from '../support/destinations';
import { scratchDir } from '../support/factories';

const PREFIX = 'shopping-patterns-delivery-';

const problem = (value: unknown) => {
  const d = parseDestination(value, PREFIX);
  return 'error' in d ? d.error : undefined;
};

describe('destination schema', () => {
  it('accepts both ways to write, with every optional field', () => {
    expect(problem(acme())).toBeUndefined();
    expect(
      problem(
        acme({
          access: { type: 'bucket_policy' },
          kms_key_arn: 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          prefix: 'shopping/monthly',
          format: 'parquet',
          columns: ['A'],
          pseudonymise: ['CUSTOMER_ID'],
          schedule: { cron: 'cron(0 6 ? * MON *)', source_table: 'ORDERS_100K' },
          description: 'the stakeholder',
        }),
      ),
    ).toBeUndefined();
  });

  it.each([
    [{ name: 'Acme' }, /name: must be 1-63 lowercase/],
    [{ bucket: 'Acme' }, /bucket: must be a valid S3 bucket name/],
    [{ account_id: '1111' }, /account_id: must be the bucket owner's 12-digit account id/],
    [{ region: 'europe' }, /region/],
    [
      { access: { type: 'assume_role', role_arn: 'arn:aws:iam::999999999999:role/shopping-patterns-delivery-acme', external_id: 'ext-1234' } },
      /role must be in the bucket owner's account 111122223333/,
    ],
    [
      { access: { type: 'assume_role', role_arn: 'arn:aws:iam::111122223333:role/admin', external_id: 'ext-1234' } },
      /role's name must start with shopping-patterns-delivery-/,
    ],
    [{ access: { type: 'assume_role', role_arn: 'arn:aws:iam::111122223333:role/shopping-patterns-delivery-a', external_id: 'x' } }, /external_id/],
    [{ access: { type: 'assume_role', role_arn: 'arn:aws:iam::111122223333:role/shopping-patterns-delivery-a' } }, /external_id/],
    [{ access: { type: 'bucket_policy', role_arn: 'x' } }, /Unrecognized key/],
    [{ access: { type: 'copy' } }, /access/],
    [{ kms_key_arn: 'arn:aws:kms:us-east-1:111122223333:key/abc' }, /key must be in the bucket's region eu-west-2/],
    [{ kms_key_arn: 'arn:aws:kms:eu-west-2:111122223333:alias/mine' }, /not an alias/],
    [{ prefix: 'a/../b' }, /prefix/],
    [{ format: 'xlsx' }, /format/],
    [{ schedule: { cron: 'cron(0 6 * * MON *)', source_table: 'T' } }, /exactly one of day-of-month and day-of-week must be \?/],
    [{ schedule: { cron: 'cron(0 6 ? * MON 2030)', source_table: 'T' } }, /year field must be \*/],
    [{ schedule: { cron: 'cron(0 6 ? * MON)', source_table: 'T' } }, /needs 6 fields/],
    [{ schedule: { cron: 'rate(1 day)', source_table: 'T' } }, /EventBridge cron expression/],
    [{ schedule: { cron: 'cron(0 6 ? * MON *)' } }, /source_table/],
    [{ colour: 'red' }, /Unrecognized key/],
  ])('refuses %j, naming why', (overrides, message) => {
    expect(problem(acme(overrides))).toMatch(message);
  });
});

describe('file store', () => {
  let scratch: { dir: string; remove: () => void };
  let file: string;
  beforeEach(() => {
    scratch = scratchDir('sp-dest-');
    file = path.join(scratch.dir, 'destinations.json');
  });
  afterEach(() => scratch.remove());

  it('reads the file on every use: an entry added by hand is seen at once, a malformed one is named and the others stay usable', async () => {
    // Prepare
    const store = new FileDestinationStore(file, PREFIX);
    expect(await store.list()).toEqual({ destinations: [], invalid: [] }); // no file yet

    // Act
    fs.writeFileSync(file, JSON.stringify({ destinations: [acme(), acme({ name: 'broken', bucket: 'broken-drop', account_id: 'nope' })] }));

    // Assess
    const { destinations, invalid } = await store.list();
    expect(destinations.map((d) => d.name)).toEqual(['acme']);
    expect(invalid).toEqual([expect.objectContaining({ name: 'broken', bucket: 'broken-drop', error: expect.stringMatching(/account_id/) })]);
    expect(await store.get('acme')).toEqual(acme());
    await expect(store.get('broken')).rejects.toThrow(/destination broken \(file .*\) is invalid: account_id/);
    expect(await store.get('other')).toBeUndefined();
  });

  it('a name used twice makes both entries unusable', async () => {
    fs.writeFileSync(file, JSON.stringify({ destinations: [acme(), acme({ bucket: 'other-drop' })] }));
    const { destinations, invalid } = await new FileDestinationStore(file, PREFIX).list();
    expect(destinations).toEqual([]);
    expect(invalid.map((i) => i.error)).toEqual(['the name is used more than once in the file', 'the name is used more than once in the file']);
  });

  it('adds (refusing an existing name unless replacing), validates before writing, removes; the file is readable by its owner only', async () => {
    const store = new FileDestinationStore(file, PREFIX);
    await store.put(acme());
    await expect(store.put(acme())).rejects.toThrow(/destination acme exists/);
    await store.put(acme({ prefix: 'p' }), { replace: true });
    await expect(store.put(acme({ name: 'bad', account_id: '1' }))).rejects.toBeInstanceOf(InvalidInputError);
    expect((await store.get('acme'))?.prefix).toBe('p');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(await store.remove('acme')).toBe(true);
    expect(await store.remove('acme')).toBe(false);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ destinations: [] });
  });

  it('names a file that is not JSON or not the expected shape', async () => {
    fs.writeFileSync(file, '{oops');
    await expect(new FileDestinationStore(file, PREFIX).list()).rejects.toThrow(/is not JSON/);
    fs.writeFileSync(file, '[]');
    await expect(new FileDestinationStore(file, PREFIX).list()).rejects.toThrow(/must be \{"destinations": \[ \.\.\. \]\}/);
  });
});

describe('SSM Parameter Store store', () => {
  const ssm = mockClient(SSMClient);
  const PATH = '/shopping-patterns/dev/destinations';
  const store = () => new SsmDestinationStore(PATH, new SSMClient({ region: 'eu-west-2' }), PREFIX);
  beforeEach(() => ssm.reset());

  it('lists one level under the path, every page, and names a parameter that is not valid', async () => {
    // Prepare: two pages
    ssm
      .on(GetParametersByPathCommand, { Path: PATH, NextToken: undefined })
      .resolves({ Parameters: [{ Name: `${PATH}/acme`, Value: JSON.stringify(acme()) }], NextToken: 't1' })
      .on(GetParametersByPathCommand, { Path: PATH, NextToken: 't1' })
      .resolves({
        Parameters: [
          { Name: `${PATH}/zeta`, Value: JSON.stringify(acme({ name: 'zeta' })) },
          { Name: `${PATH}/renamed`, Value: JSON.stringify(acme()) },
          { Name: `${PATH}/garbage`, Value: '{' },
        ],
      });

    // Act
    const { destinations, invalid } = await store().list();

    // Assess
    expect(destinations.map((d) => d.name)).toEqual(['acme', 'zeta']);
    expect(invalid).toEqual([
      { name: 'renamed', bucket: 'acme-drop', error: 'its name is "acme", but it is stored as renamed' },
      { name: 'garbage', error: 'the parameter value is not JSON' },
    ]);
    const calls = ssm.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      expect.objectContaining({ Path: PATH, Recursive: false }),
      expect.objectContaining({ Path: PATH, Recursive: false, NextToken: 't1' }),
    ]);
  });

  it('gets one by its parameter name; a missing one is undefined', async () => {
    ssm.on(GetParameterCommand, { Name: `${PATH}/acme` }).resolves({ Parameter: { Name: `${PATH}/acme`, Value: JSON.stringify(acme()) } });
    ssm.on(GetParameterCommand, { Name: `${PATH}/none` }).rejects(new ParameterNotFound({ message: 'no', $metadata: {} }));
    expect(await store().get('acme')).toEqual(acme());
    expect(await store().get('none')).toBeUndefined();
    await expect(store().get('../etc')).rejects.toThrow(/is not a destination name/);
  });

  it('writes a String parameter (no overwrite unless replacing) and deletes one', async () => {
    ssm.on(PutParameterCommand).resolvesOnce({}).rejectsOnce(new ParameterAlreadyExists({ message: 'exists', $metadata: {} }));
    ssm.on(DeleteParameterCommand).resolvesOnce({}).rejectsOnce(new ParameterNotFound({ message: 'no', $metadata: {} }));
    await store().put(acme());
    await expect(store().put(acme())).rejects.toThrow(/destination acme exists/);
    expect(ssm.commandCalls(PutParameterCommand)[0]!.args[0].input).toEqual(
      expect.objectContaining({ Name: `${PATH}/acme`, Type: 'String', Overwrite: false, Value: JSON.stringify(acme()) }),
    );
    await expect(store().put(acme({ account_id: 'x' }))).rejects.toThrow(/account_id/);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(2); // the invalid one was never sent
    expect(await store().remove('acme')).toBe(true);
    expect(await store().remove('acme')).toBe(false);
  });
});
