/**
 * Cross-account writes with mocked AWS clients (aws-sdk-client-mock): the destination's role is
 * assumed with its external ID, every request to the destination carries ExpectedBucketOwner (the
 * multipart upload lib-storage drives, and its abort, included), objects get the stakeholder's KMS
 * key and, with bucket-policy access, the bucket-owner-full-control ACL; a wrong owner or a role
 * that refuses us stops the transfer before any warehouse work.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig, type Config } from '../../shared/config';
import { assumeRoleCredentials, boundClient, type DeliveryTarget } from '../../shared/delivery/client';
import { FileDestinationStore } from '../../shared/delivery/store';
import { setLogSink } from '../../shared/logger';
import { createPartWriter, type Row } from '../../shared/publish';
import { transferData } from '../../shared/transfer';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Warehouse } from '../../shared/warehouse/port';
import { scratchDir } from '../support/factories';
import { acme } from '../support/destinations';

const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
const OWNER = '111122223333';
const KEY = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ROLE = 'arn:aws:iam::111122223333:role/shopping-patterns-delivery-acme';

const target = (over: Partial<DeliveryTarget> = {}): DeliveryTarget => ({
  name: 'acme',
  bucket: 'acme-drop',
  region: 'eu-west-2',
  ownerAccountId: OWNER,
  access: { type: 'bucket_policy' },
  kmsKeyArn: KEY,
  ...over,
});

/** Every S3 call sent, with its command name and input. */
const sent = () => s3.calls().map((c) => ({ command: (c.args[0] as object).constructor.name, input: (c.args[0] as unknown as { input: Record<string, unknown> }).input }));

const denied = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink((line) => process.stderr.write(line + '\n')));

beforeEach(() => {
  s3.reset();
  sts.reset();
  s3.on(DeleteObjectCommand).resolves({});
  s3.on(ListObjectsV2Command).resolves({ Contents: [] });
  s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3.on(UploadPartCommand).resolves({ ETag: '"p"' });
  s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"c"' });
  s3.on(AbortMultipartUploadCommand).resolves({});
  sts.on(AssumeRoleCommand).resolves({
    Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3600_000) },
  });
});

/** Incompressible rows: a few batches make a part larger than S3's 5 MiB minimum, so the upload is multipart. */
const bigBatch = (): Row[] => Array.from({ length: 200 }, () => ({ month: '2024-01-01', id: randomBytes(4000).toString('base64') }));

describe('the delivery client', () => {
  it('puts ExpectedBucketOwner on every request of a multipart part, the manifest, the listing and the cleanup; the KMS key and the ACL on each object it creates', async () => {
    // Prepare
    const client = boundClient(new S3Client({ region: 'eu-west-2' }), target());
    const writer = createPartWriter({
      bucket: 'acme-drop',
      runPrefix: 'shopping/T/r1',
      format: 'jsonl.gz',
      columns: [{ name: 'month', kind: 'date' }, { name: 'id', kind: 'text' }],
      client,
    });
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'shopping/T/r1/stale.txt' }] });

    // Act
    async function* batches() {
      for (let i = 0; i < 12; i++) yield bigBatch();
    }
    await writer.writePartition('month=2024-01', batches());
    await writer.commit({ run_id: 'r1' });

    // Assess
    const calls = sent();
    const names = new Set(calls.map((c) => c.command));
    for (const expected of ['CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand', 'PutObjectCommand', 'ListObjectsV2Command', 'DeleteObjectCommand'])
      expect(names).toContain(expected);
    for (const c of calls) expect([c.command, c.input.ExpectedBucketOwner, c.input.Bucket]).toEqual([c.command, OWNER, 'acme-drop']);
    for (const c of calls.filter((x) => ['CreateMultipartUploadCommand', 'PutObjectCommand'].includes(x.command))) {
      expect(c.input).toMatchObject({ ACL: 'bucket-owner-full-control', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY });
    }
  });

  it("puts ExpectedBucketOwner on the AbortMultipartUpload that lib-storage sends when a part fails", async () => {
    // Prepare: the second part fails
    s3.on(UploadPartCommand).resolvesOnce({ ETag: '"p1"' }).rejects(new Error('connection reset'));
    const client = boundClient(new S3Client({ region: 'eu-west-2' }), target({ access: { type: 'own' }, kmsKeyArn: undefined }));
    const writer = createPartWriter({
      bucket: 'acme-drop',
      runPrefix: 'shopping/T/r2',
      columns: [{ name: 'month', kind: 'date' }, { name: 'id', kind: 'text' }],
      client,
    });
    async function* batches() {
      for (let i = 0; i < 40; i++) yield bigBatch();
    }

    // Act
    await expect(writer.writePartition('month=2024-01', batches())).rejects.toThrow();
    await writer.abort(new Error('failed'));

    // Assess
    const aborts = s3.commandCalls(AbortMultipartUploadCommand);
    expect(aborts.length).toBeGreaterThan(0);
    for (const c of sent()) expect([c.command, c.input.ExpectedBucketOwner]).toEqual([c.command, OWNER]);
    // this account writes its own bucket: no ACL, no key
    for (const c of s3.commandCalls(CreateMultipartUploadCommand)) expect(c.args[0].input.ACL).toBeUndefined();
  });

  it('with a role of the stakeholder, sends no ACL (the writer is their own account)', async () => {
    const client = boundClient(new S3Client({ region: 'eu-west-2' }), target({ access: { type: 'assume_role', role_arn: ROLE, external_id: 'ext-1234' } }));
    await client.send(new PutObjectCommand({ Bucket: 'acme-drop', Key: 'k', Body: 'x' }));
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ ExpectedBucketOwner: OWNER, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.ACL).toBeUndefined();
  });

  it('talks only to its bucket, with only the operations a delivery needs', async () => {
    const client = boundClient(new S3Client({ region: 'eu-west-2' }), target());
    expect(() => client.send(new PutObjectCommand({ Bucket: 'someone-else', Key: 'k', Body: 'x' }))).toThrow(/refused a request to someone-else/);
    expect(() => client.send(new GetObjectCommand({ Bucket: 'acme-drop', Key: 'k' }))).toThrow(/sends only writes and listings, not GetObjectCommand/);
    expect(s3.calls()).toHaveLength(0);
  });

  it('assumes the role with the external ID, once, and again only when the credentials are about to expire', async () => {
    // Prepare: credentials that expire in 2 minutes, then fresh ones
    sts
      .on(AssumeRoleCommand)
      .resolvesOnce({ Credentials: { AccessKeyId: 'A1', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 120_000) } })
      .resolves({ Credentials: { AccessKeyId: 'A2', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3600_000) } });
    const provider = assumeRoleCredentials({ role_arn: ROLE, external_id: 'ext-1234' }, { sts: new STSClient({ region: 'eu-west-2' }), sessionName: 'sp-run/1 x' });

    // Act
    const first = await provider();
    const second = await provider();
    const third = await provider();

    // Assess
    expect([first.accessKeyId, second.accessKeyId, third.accessKeyId]).toEqual(['A1', 'A2', 'A2']);
    const inputs = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toEqual({ RoleArn: ROLE, ExternalId: 'ext-1234', RoleSessionName: 'sp-run-1-x', DurationSeconds: 3600 });
  });
});

describe('transferData to a destination (mocked STS and S3)', () => {
  let scratch: { dir: string; remove: () => void };
  let cfg: Config;
  let store: FileDestinationStore;
  beforeEach(async () => {
    scratch = scratchDir('sp-deliver-');
    cfg = loadConfig({ STAGE: 'local', LOCAL_DIR: scratch.dir, DUCKDB_PATH: path.join(scratch.dir, 'w.duckdb') });
    store = new FileDestinationStore(path.join(scratch.dir, 'destinations.json'), cfg.delivery.rolePrefix);
    await store.put(acme({ kms_key_arn: KEY, prefix: 'shopping' }));
  });
  afterEach(() => scratch.remove());

  /** A warehouse that records whatever is asked of it and does nothing. */
  function untouchable(): { wh: Warehouse; touched: string[] } {
    const touched: string[] = [];
    const wh = new Proxy({} as Warehouse, {
      get: (_t, prop) => {
        touched.push(String(prop));
        throw new Error(`the warehouse was used (${String(prop)})`);
      },
    });
    return { wh, touched };
  }

  it('a bucket that belongs to another account is refused before any warehouse work, and nothing is written', async () => {
    // Prepare: S3 answers ExpectedBucketOwner mismatches with 403
    s3.on(ListObjectsV2Command).rejects(denied('AccessDenied', 403));
    const { wh, touched } = untouchable();

    // Act
    const run = transferData({ source_table: 'ORDERS', destination: 'acme' }, { config: cfg, destinations: store, warehouse: wh });

    // Assess
    await expect(run).rejects.toThrow(/either the bucket is not owned by account 111122223333 \(ExpectedBucketOwner\) or the role .* may not list it; nothing was written/);
    expect(touched).toEqual([]);
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toMatchObject({ RoleArn: ROLE, ExternalId: 'ext-1234' });
    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toMatchObject({ Bucket: 'acme-drop', ExpectedBucketOwner: OWNER, Prefix: 'shopping/' });
    expect(sent().filter((c) => c.command !== 'ListObjectsV2Command')).toEqual([]);
  });

  it('a role whose trust policy refuses us stops the transfer before S3 and the warehouse', async () => {
    sts.on(AssumeRoleCommand).rejects(denied('AccessDenied', 403));
    const { wh, touched } = untouchable();
    await expect(transferData({ source_table: 'ORDERS', destination: 'acme' }, { config: cfg, destinations: store, warehouse: wh })).rejects.toThrow(
      /cannot assume arn:aws:iam::111122223333:role\/shopping-patterns-delivery-acme with the destination's external ID \(AccessDenied/,
    );
    expect(touched).toEqual([]);
    expect(s3.calls()).toHaveLength(0);
  });

  it('a whole transfer sends ExpectedBucketOwner on every request and encrypts every object with the destination key', async () => {
    // Prepare: a small table in a scratch DuckDB
    const wh = new DuckDbWarehouse(path.join(scratch.dir, 'w.duckdb'));
    try {
      await wh.execute(`create table "ORDERS" (d date, status varchar, amount decimal(10,2))`);
      await wh.execute(`insert into "ORDERS" values ('2024-01-05', 'F', 1.50), ('2024-01-20', 'F', 2.25), ('2024-02-01', 'O', 4.00)`);

      // Act
      const result = await transferData({ source_table: 'ORDERS', destination: 'acme', run_id: 'r-mock' }, { config: cfg, destinations: store, warehouse: wh });

      // Assess
      expect(result).toMatchObject({ destination: 'acme', bucket: 'acme-drop', file_name: 'shopping/ORDERS/r-mock/_manifest.json', row_count: 2 });
      const calls = sent();
      expect(calls.length).toBeGreaterThan(3);
      for (const c of calls) expect([c.command, c.input.ExpectedBucketOwner]).toEqual([c.command, OWNER]);
      const created = calls.filter((c) => c.command === 'PutObjectCommand');
      expect(created.map((c) => c.input.Key).sort()).toEqual([
        'shopping/ORDERS/r-mock/_manifest.json',
        'shopping/ORDERS/r-mock/month=2024-01/part-00000.jsonl.gz',
        'shopping/ORDERS/r-mock/month=2024-02/part-00000.jsonl.gz',
      ]);
      for (const c of created) expect(c.input).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY });
      expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toMatchObject({ ExternalId: 'ext-1234', RoleSessionName: 'sp-r-mock' });
    } finally {
      await wh.close();
    }
  });
});
