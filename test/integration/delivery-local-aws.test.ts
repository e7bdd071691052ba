/**
 * The local stand-ins for the stakeholder's side, with the real AWS SDK clients: the local S3 server
 * refuses every request whose ExpectedBucketOwner is not the bucket's owner (403, before anything is
 * read or written), refuses ACLs other than bucket-owner-full-control (buckets have ACLs disabled),
 * and keeps and echoes server-side encryption; the local STS requires each role's external ID.
 */
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startLocalSts, type LocalSts } from '../../local/stack/sts-server';
import { startLocalS3, type LocalS3Server } from '../support/local-s3';

const OWNER = '111122223333';
let server: LocalS3Server;
let client: S3Client;
let sts: LocalSts;
let stsClient: STSClient;

beforeAll(async () => {
  server = await startLocalS3({ buckets: ['ours', { name: 'theirs', owner: OWNER }] });
  client = server.client();
  await client.send(new PutObjectCommand({ Bucket: 'theirs', Key: 'kept.txt', Body: 'x' }));
  sts = await startLocalSts({ port: 0, roles: [{ arn: `arn:aws:iam::${OWNER}:role/shopping-patterns-delivery-acme`, externalId: 'ext-1234' }] });
  stsClient = new STSClient({ region: 'eu-west-2', endpoint: sts.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
});

afterAll(async () => {
  client.destroy();
  stsClient.destroy();
  await server.stop();
  await sts.close();
});

const status = async (p: Promise<unknown>) => {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
};

describe('local S3: ExpectedBucketOwner', () => {
  const wrong = '999999999999';
  it.each([
    ['HeadBucket', () => new HeadBucketCommand({ Bucket: 'theirs', ExpectedBucketOwner: wrong })],
    ['ListObjectsV2', () => new ListObjectsV2Command({ Bucket: 'theirs', ExpectedBucketOwner: wrong })],
    ['PutObject', () => new PutObjectCommand({ Bucket: 'theirs', Key: 'new.txt', Body: 'x', ExpectedBucketOwner: wrong })],
    ['CreateMultipartUpload', () => new CreateMultipartUploadCommand({ Bucket: 'theirs', Key: 'big', ExpectedBucketOwner: wrong })],
    ['AbortMultipartUpload', () => new AbortMultipartUploadCommand({ Bucket: 'theirs', Key: 'big', UploadId: '0'.repeat(32), ExpectedBucketOwner: wrong })],
    ['HeadObject', () => new HeadObjectCommand({ Bucket: 'theirs', Key: 'kept.txt', ExpectedBucketOwner: wrong })],
    ['GetObject', () => new GetObjectCommand({ Bucket: 'theirs', Key: 'kept.txt', ExpectedBucketOwner: wrong })],
    ['DeleteObject', () => new DeleteObjectCommand({ Bucket: 'theirs', Key: 'kept.txt', ExpectedBucketOwner: wrong })],
  ])('%s with another owner is refused with 403 and changes nothing', async (_name, command) => {
    expect(await status(client.send(command() as never))).toBe(403);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'theirs' }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual(['kept.txt']);
  });

  it('with the right owner (or none) answers as usual; our buckets belong to the local account', async () => {
    expect(await status(client.send(new HeadBucketCommand({ Bucket: 'theirs', ExpectedBucketOwner: OWNER })))).toBe(200);
    expect(await status(client.send(new HeadBucketCommand({ Bucket: 'ours', ExpectedBucketOwner: '000000000000' })))).toBe(200);
    expect(await status(client.send(new HeadBucketCommand({ Bucket: 'ours', ExpectedBucketOwner: OWNER })))).toBe(403);
    expect(await status(client.send(new HeadBucketCommand({ Bucket: 'theirs' })))).toBe(200);
  });
});

describe('local S3: ownership and encryption', () => {
  it('accepts no ACL or bucket-owner-full-control, and refuses any other (ACLs disabled)', async () => {
    expect(await status(client.send(new PutObjectCommand({ Bucket: 'theirs', Key: 'a', Body: 'x', ACL: 'bucket-owner-full-control' })))).toBe(200);
    const refused = client.send(new PutObjectCommand({ Bucket: 'theirs', Key: 'b', Body: 'x', ACL: 'public-read' }));
    await expect(refused).rejects.toMatchObject({ name: 'AccessControlListNotSupported', $metadata: { httpStatusCode: 400 } });
    await expect(client.send(new CreateMultipartUploadCommand({ Bucket: 'theirs', Key: 'c', GrantRead: 'id=x' }))).rejects.toMatchObject({
      name: 'AccessControlListNotSupported',
    });
  });

  it('keeps SSE-KMS with the key asked for and answers it on PUT, multipart creation and GET; a key without aws:kms is refused', async () => {
    const key = 'arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const put = await client.send(new PutObjectCommand({ Bucket: 'theirs', Key: 'enc', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key }));
    expect([put.ServerSideEncryption, put.SSEKMSKeyId]).toEqual(['aws:kms', key]);
    const got = await client.send(new GetObjectCommand({ Bucket: 'theirs', Key: 'enc' }));
    expect([got.ServerSideEncryption, got.SSEKMSKeyId]).toEqual(['aws:kms', key]);
    const mpu = await client.send(new CreateMultipartUploadCommand({ Bucket: 'theirs', Key: 'enc-big', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key }));
    expect(mpu.SSEKMSKeyId).toBe(key);
    await client.send(new AbortMultipartUploadCommand({ Bucket: 'theirs', Key: 'enc-big', UploadId: mpu.UploadId }));
    await expect(client.send(new PutObjectCommand({ Bucket: 'theirs', Key: 'bad', Body: 'x', SSEKMSKeyId: key }))).rejects.toMatchObject({
      name: 'InvalidArgument',
    });
  });
});

describe('local STS', () => {
  const arn = `arn:aws:iam::${OWNER}:role/shopping-patterns-delivery-acme`;
  it('hands out credentials for the role with its external ID', async () => {
    const res = await stsClient.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'sp-test', ExternalId: 'ext-1234', DurationSeconds: 900 }));
    expect(res.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(res.Credentials?.Expiration?.getTime()).toBeGreaterThan(Date.now() + 800_000);
    expect(res.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${OWNER}:assumed-role/shopping-patterns-delivery-acme/sp-test`);
  });

  it.each([
    ['without the external ID', { RoleArn: arn, RoleSessionName: 'sp' }],
    ['with a wrong one', { RoleArn: arn, RoleSessionName: 'sp', ExternalId: 'ext-9999' }],
    ['for a role it does not know', { RoleArn: `arn:aws:iam::${OWNER}:role/other`, RoleSessionName: 'sp', ExternalId: 'ext-1234' }],
  ])('refuses AssumeRole %s with AccessDenied', async (_what, input) => {
    await expect(stsClient.send(new AssumeRoleCommand(input))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });

  it('checks the parameters as the API does, and answers GetCallerIdentity with the local account', async () => {
    await expect(stsClient.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'x y', ExternalId: 'ext-1234' }))).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(stsClient.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'sp', ExternalId: 'ext-1234', DurationSeconds: 7200 }))).rejects.toMatchObject({
      name: 'ValidationError',
    });
    expect((await stsClient.send(new GetCallerIdentityCommand({}))).Account).toBe('000000000000');
  });
});
