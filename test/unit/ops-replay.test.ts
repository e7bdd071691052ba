/**
 * Replay without services: the notification bodies (read back by the product's own envelope parser),
 * the sequencer rule, S3 listing (plain and versioned) and SQS batching, with aws-sdk-client-mock.
 */
import { ListObjectsV2Command, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../shared/config';
import { parseMessageBody } from '../../shared/events/s3-notification';
import { compareSequencers } from '../../shared/ingest/ledger';
import { collect, listLanding, parseSince, selectObjects } from '../../shared/ops/landing';
import { replay, replayNotification, replaySequencer, sendBodies } from '../../shared/ops/replay';
import { nextSequencer } from '../../local/stack/notifications';

const routes = loadConfig({ STAGE: 'local' }).routes;
const s3Mock = mockClient(S3Client);
const sqsMock = mockClient(SQSClient);

beforeEach(() => {
  s3Mock.reset();
  sqsMock.reset();
});

describe('replaySequencer', () => {
  it('local: never above the stack’s own sequencer for a write at or after LastModified', () => {
    // Prepare: the local stack stamps events with milliseconds then a counter
    const lastModified = new Date('2018-09-03T10:11:12.345Z');
    const genuineSameMs = nextSequencer(lastModified.getTime());
    const genuineLater = nextSequencer(lastModified.getTime() + 1);
    // Act
    const replayed = replaySequencer(lastModified, 'local');
    // Assess
    expect(replayed).toMatch(/^[0-9A-F]{18}$/);
    expect(compareSequencers(replayed, genuineSameMs)).toBeLessThanOrEqual(0);
    expect(compareSequencers(replayed, genuineLater)).toBeLessThan(0);
  });

  it('aws: "00", the Unix seconds in 8 hex digits, then zeros; below any event later in that second', () => {
    const lastModified = new Date('2015-07-21T23:33:48.000Z');
    const replayed = replaySequencer(lastModified, 'aws');
    expect(replayed).toHaveLength(18);
    expect(replayed.slice(0, 2)).toBe('00');
    expect(parseInt(replayed.slice(2, 10), 16)).toBe(Math.floor(lastModified.getTime() / 1000));
    expect(replayed.slice(10)).toBe('00000000');
    // an S3 sequencer observed for that second (same seconds prefix, a non-zero tail)
    expect(compareSequencers(replayed, '0055AED6DCD90281E5')).toBeLessThan(0);
  });

  it('orders replays of two versions like their LastModified', () => {
    for (const style of ['local', 'aws'] as const) {
      const older = replaySequencer(new Date('2018-09-03T10:00:00Z'), style);
      const newer = replaySequencer(new Date('2018-09-03T10:00:01Z'), style);
      expect(compareSequencers(older, newer)).toBeLessThan(0);
    }
  });

  it('rejects an invalid date', () => {
    expect(() => replaySequencer(new Date(Number.NaN), 'local')).toThrow(/invalid LastModified/);
  });
});

describe('replayNotification', () => {
  it('is what ingest reads back as the same object version, key and arrival', () => {
    // Prepare: a key that needs S3's form encoding ('=' , space, '+')
    const object = {
      key: 'starter/transactions/d=2018-09-03/day one+more.json',
      size: 123,
      etag: '9b2cf535f27731c974343645a3985328',
      versionId: undefined,
      lastModified: new Date('2018-09-03T10:11:12.000Z'),
    };
    // Act
    const body = replayNotification(object, { bucket: 'landing', region: 'eu-west-2', style: 'local' });
    const parsed = parseMessageBody(body, routes);
    // Assess
    expect(JSON.parse(body).Records[0].s3.object.key).toBe(
      'starter/transactions/d%3D2018-09-03/day+one%2Bmore.json',
    );
    expect(parsed).toEqual({
      kind: 'files',
      ignored: [],
      units: [
        {
          bucket: 'landing',
          key: object.key,
          // an unversioned bucket: the ETag at the replay's sequencer (derived from LastModified, so a
          // second replay of the same object is the same unit)
          version: `${object.etag}@${replaySequencer(object.lastModified, 'local')}`,
          versionId: undefined,
          etag: object.etag,
          sequencer: replaySequencer(object.lastModified, 'local'),
          eventTime: '2018-09-03T10:11:12.000Z',
          size: 123,
          dataset: 'transactions',
          receiveCount: 1,
        },
      ],
    });
  });

  it('carries the version id of a versioned bucket, which becomes the version identity', () => {
    const body = replayNotification(
      {
        key: 'customers.csv',
        size: 9,
        etag: 'abc',
        versionId: 'v-42',
        lastModified: new Date('2020-01-01T00:00:00Z'),
      },
      { bucket: 'b', region: 'eu-west-2', style: 'aws' },
    );
    const parsed = parseMessageBody(body, routes);
    expect(parsed.kind === 'files' && parsed.units[0]).toMatchObject({
      version: 'v-42',
      versionId: 'v-42',
      dataset: 'customers',
    });
  });
});

describe('sendBodies', () => {
  it('sends in batches of 10, retries a server-side failure once, reports sender faults', async () => {
    // Prepare: entry 3 fails once on the server side, entry 15 is rejected as the sender's fault
    const bodies = Array.from({ length: 23 }, (_, i) => `{"n":${i}}`);
    let firstCall = true;
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      const failed: { Id: string; Code: string; SenderFault: boolean; Message: string }[] = [];
      for (const e of input.Entries) {
        if (e.Id === '3' && firstCall)
          failed.push({ Id: e.Id, Code: 'InternalError', SenderFault: false, Message: 'try again' });
        if (e.Id === '15')
          failed.push({ Id: e.Id, Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' });
      }
      firstCall = false;
      return {
        Successful: input.Entries.filter((e) => !failed.some((f) => f.Id === e.Id)).map((e) => ({
          Id: e.Id,
        })),
        Failed: failed,
      };
    });
    // Act
    const result = await sendBodies(new SQSClient({ region: 'eu-west-2' }), 'https://queue', bodies);
    // Assess
    const sizes = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!.length);
    expect(sizes).toEqual([10, 1, 10, 3]); // the retry of entry 3 goes alone, right after its batch
    expect(result.sent).toBe(22);
    expect(result.failed).toEqual([{ index: 15, code: 'InvalidMessageContents', message: 'bad' }]);
  });
});

describe('listing and replay', () => {
  const at = (iso: string) => new Date(iso);

  it('pages through ListObjectsV2, keeps routed keys since a date, and sends one message per object', async () => {
    // Prepare
    s3Mock
      .on(ListObjectsV2Command, {
        Bucket: 'landing',
        Prefix: 'transactions/d=2018-09',
        ContinuationToken: undefined,
      })
      .resolves({
        IsTruncated: true,
        NextContinuationToken: 't1',
        Contents: [
          {
            Key: 'transactions/d=2018-09-01/a.json',
            Size: 1,
            ETag: '"e1"',
            LastModified: at('2018-09-02T00:00:00Z'),
          },
          {
            Key: 'transactions/d=2018-09-01/notes.txt',
            Size: 1,
            ETag: '"e2"',
            LastModified: at('2018-09-02T00:00:00Z'),
          },
        ],
      })
      .on(ListObjectsV2Command, {
        Bucket: 'landing',
        Prefix: 'transactions/d=2018-09',
        ContinuationToken: 't1',
      })
      .resolves({
        IsTruncated: false,
        Contents: [
          {
            Key: 'transactions/d=2018-09-02/b.json',
            Size: 2,
            ETag: '"e3"',
            LastModified: at('2018-09-03T00:00:00Z'),
          },
          {
            Key: 'transactions/d=2018-09-03/c.json.gz',
            Size: 3,
            ETag: '"e4"',
            LastModified: at('2018-09-04T00:00:00Z'),
          },
        ],
      });
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id })),
    }));
    // Act
    const result = await replay({
      s3: new S3Client({ region: 'eu-west-2' }),
      sqs: new SQSClient({ region: 'eu-west-2' }),
      bucket: 'landing',
      queueUrl: 'https://queue',
      region: 'eu-west-2',
      routes,
      style: 'aws',
      prefix: 'transactions/d=2018-09',
      since: parseSince('2018-09-03'),
    });
    // Assess
    expect(result).toMatchObject({
      listed: 4,
      older: 1,
      unrouted: ['transactions/d=2018-09-01/notes.txt'],
      sent: 2,
      failed: [],
    });
    const sent = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!);
    const keys = sent.map(
      (e) =>
        (parseMessageBody(e.MessageBody!, routes) as { units: { key: string; etag: string }[] }).units[0]!,
    );
    expect(keys.map((u) => [u.key, u.etag])).toEqual([
      ['transactions/d=2018-09-02/b.json', 'e3'],
      ['transactions/d=2018-09-03/c.json.gz', 'e4'],
    ]);
  });

  it('--dry-run lists and sends nothing', async () => {
    s3Mock
      .on(ListObjectsV2Command)
      .resolves({
        Contents: [{ Key: 'customers.csv', Size: 1, ETag: '"e"', LastModified: at('2020-01-01T00:00:00Z') }],
      });
    const result = await replay({
      s3: new S3Client({ region: 'eu-west-2' }),
      sqs: new SQSClient({ region: 'eu-west-2' }),
      bucket: 'landing',
      queueUrl: 'https://queue',
      region: 'eu-west-2',
      routes,
      style: 'aws',
      dryRun: true,
    });
    expect(result.selected.map((o) => o.key)).toEqual(['customers.csv']);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('lists a versioned bucket by its current versions, skipping keys whose latest version is a delete marker', async () => {
    // Prepare: two pages; a.json has an old and a current version; gone.json was deleted
    s3Mock
      .on(ListObjectVersionsCommand, { Bucket: 'b', KeyMarker: undefined })
      .resolves({
        IsTruncated: true,
        NextKeyMarker: 'a.json',
        NextVersionIdMarker: 'v1',
        Versions: [
          {
            Key: 'a.json',
            VersionId: 'v2',
            IsLatest: true,
            ETag: '"e2"',
            Size: 2,
            LastModified: at('2020-01-02T00:00:00Z'),
          },
          {
            Key: 'a.json',
            VersionId: 'v1',
            IsLatest: false,
            ETag: '"e1"',
            Size: 1,
            LastModified: at('2020-01-01T00:00:00Z'),
          },
        ],
      })
      .on(ListObjectVersionsCommand, { Bucket: 'b', KeyMarker: 'a.json', VersionIdMarker: 'v1' })
      .resolves({
        IsTruncated: false,
        Versions: [
          {
            Key: 'gone.json',
            VersionId: 'g1',
            IsLatest: false,
            ETag: '"g"',
            Size: 1,
            LastModified: at('2020-01-01T00:00:00Z'),
          },
          {
            Key: 'old.json',
            VersionId: 'null',
            IsLatest: true,
            ETag: '"o"',
            Size: 1,
            LastModified: at('2019-01-01T00:00:00Z'),
          },
        ],
        DeleteMarkers: [{ Key: 'gone.json', VersionId: 'd1', IsLatest: true }],
      });
    // Act
    const objects = await collect(
      listLanding(new S3Client({ region: 'eu-west-2' }), 'b', { versioned: true }),
    );
    // Assess
    expect(objects.map((o) => [o.key, o.versionId, o.etag])).toEqual([
      ['a.json', 'v2', 'e2'],
      ['old.json', undefined, 'o'],
    ]);
  });

  it('selectObjects routes keys and parseSince rejects what is not a date', () => {
    const sel = selectObjects(
      [
        {
          key: 'products.csv',
          size: 1,
          etag: 'e',
          versionId: undefined,
          lastModified: at('2020-01-01T00:00:00Z'),
        },
        {
          key: 'readme.md',
          size: 1,
          etag: 'f',
          versionId: undefined,
          lastModified: at('2020-01-01T00:00:00Z'),
        },
      ],
      routes,
    );
    expect(sel.routed.map((o) => [o.key, o.dataset])).toEqual([['products.csv', 'products']]);
    expect(sel.unrouted).toEqual(['readme.md']);
    expect(parseSince('2018-09-01').toISOString()).toBe('2018-09-01T00:00:00.000Z');
    expect(parseSince('2018-09-01T12:30:00Z').toISOString()).toBe('2018-09-01T12:30:00.000Z');
    expect(() => parseSince('yesterday')).toThrow(/--since must be YYYY-MM-DD/);
  });
});
