/**
 * The event samples in events/ and the factories in test/support/events.ts produce what AWS sends.
 * Checks are written from the AWS shapes (S3 notification 2.1 inside an SQS record, EventBridge
 * scheduled event) and from the fixture files the put samples describe.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { S3Event, ScheduledEvent, SQSEvent } from 'aws-lambda';
import { DEFAULT_ROUTES, type Route } from '../../shared/config';
import { parseMessageBody } from '../../shared/events/s3-notification';
import {
  loadEvent,
  resetEventFactories,
  s3Record,
  sqsEvent,
  sqsRecordFor,
  sqsRecordWithBody,
} from '../support/events';
import { ORIGINAL_FIXTURE } from '../support/fixtures';

const FIXTURE = ORIGINAL_FIXTURE;
const routes: Route[] = DEFAULT_ROUTES.map((r) => ({ dataset: r.dataset, pattern: new RegExp(r.pattern) }));
const md5 = (text: string | Buffer) => createHash('md5').update(text).digest('hex');
/** Form decoding written out here: '+' is a space, then percent escapes. */
const formDecode = (s: string) => decodeURIComponent(s.split('+').join(' '));

const SQS_SAMPLES = [
  'sqs/put.json',
  'sqs/multipart.json',
  'sqs/test-event.json',
  'sqs/encoded-key.json',
  'sqs/junk.json',
];

function s3Bodies(event: SQSEvent): S3Event[] {
  return event.Records.map((r) => JSON.parse(r.body) as S3Event);
}

describe('events/sqs samples', () => {
  it.each(SQS_SAMPLES)('%s is an SQS batch as Lambda receives it', (sample) => {
    const event = loadEvent<SQSEvent>(sample);
    expect(event.Records.length).toBeGreaterThan(0);
    for (const r of event.Records) {
      expect(r.eventSource).toBe('aws:sqs');
      expect(r.eventSourceARN).toMatch(/^arn:aws:sqs:[a-z0-9-]+:\d{12}:[\w-]+$/);
      expect(r.awsRegion).toBe(r.eventSourceARN.split(':')[3]);
      expect(r.md5OfBody).toBe(md5(r.body));
      expect(r.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(r.receiptHandle.length).toBeGreaterThan(20);
      expect(r.attributes.ApproximateReceiveCount).toMatch(/^[1-9]\d*$/);
      expect(Number(r.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
        Number(r.attributes.SentTimestamp),
      );
    }
    expect(new Set(event.Records.map((r) => r.messageId)).size).toBe(event.Records.length);
  });

  it('put.json names the fixture files with their real sizes and ETags, one S3 record per message', () => {
    const bodies = s3Bodies(loadEvent<SQSEvent>('sqs/put.json'));
    const expectedKeys = ['customers.csv', 'products.csv', 'transactions/d=2019-10-01/transactions.json'];
    expect(bodies.map((b) => b.Records.length)).toEqual([1, 1, 1]);
    const records = bodies.map((b) => b.Records[0]!);
    expect(records.map((r) => formDecode(r.s3.object.key))).toEqual(expectedKeys);
    for (const [i, r] of records.entries()) {
      const bytes = readFileSync(path.join(FIXTURE, expectedKeys[i]!));
      expect(r).toMatchObject({ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' });
      expect(r.s3.bucket).toEqual({
        name: 'landing',
        ownerIdentity: expect.any(Object),
        arn: 'arn:aws:s3:::landing',
      });
      expect(r.s3.object.size).toBe(bytes.length);
      expect(r.s3.object.eTag).toBe(md5(bytes));
      expect(r.s3.object.sequencer).toMatch(/^[0-9A-F]{16,}$/);
      expect(new Date(r.eventTime).toISOString()).toBe(r.eventTime);
    }
    const sequencers = records.map((r) => r.s3.object.sequencer);
    expect([...sequencers].sort()).toEqual(sequencers);
  });

  it('multipart.json is a CompleteMultipartUpload with a part-count ETag', () => {
    const [r] = s3Bodies(loadEvent<SQSEvent>('sqs/multipart.json'))[0]!.Records;
    expect(r!.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    const m = /^([0-9a-f]{32})-(\d+)$/.exec(r!.s3.object.eTag);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBe(Math.ceil(r!.s3.object.size / (8 * 1024 * 1024)));
    expect(r!.s3.object.size).toBeGreaterThan(8 * 1024 * 1024);
  });

  it('encoded-key.json carries a key with a space, a plus and a percent sign, form-encoded', () => {
    const [r] = s3Bodies(loadEvent<SQSEvent>('sqs/encoded-key.json'))[0]!.Records;
    const raw = r!.s3.object.key;
    expect(raw).toBe('transactions/d%3D2019-10-01/day+one%2B%25.json');
    expect(formDecode(raw)).toBe('transactions/d=2019-10-01/day one+%.json');
  });

  it('test-event.json is the s3:TestEvent S3 sends when notifications are configured', () => {
    const body = JSON.parse(loadEvent<SQSEvent>('sqs/test-event.json').Records[0]!.body) as Record<
      string,
      string
    >;
    expect(body).toMatchObject({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'landing' });
    expect(Object.keys(body).sort()).toEqual(['Bucket', 'Event', 'HostId', 'RequestId', 'Service', 'Time']);
  });

  it('junk.json holds only bodies that are not S3 notifications', () => {
    for (const r of loadEvent<SQSEvent>('sqs/junk.json').Records) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.body);
      } catch {
        continue; // not JSON at all
      }
      const records = (parsed as { Records?: unknown }).Records;
      expect(Array.isArray(records)).toBe(false);
    }
  });

  it('ingest reads every sample as intended', () => {
    const kinds = (sample: string) =>
      loadEvent<SQSEvent>(sample).Records.map((r) => parseMessageBody(r.body, routes).kind);
    expect(kinds('sqs/put.json')).toEqual(['files', 'files', 'files']);
    expect(kinds('sqs/multipart.json')).toEqual(['files']);
    expect(kinds('sqs/encoded-key.json')).toEqual(['files']);
    expect(kinds('sqs/test-event.json')).toEqual(['test']);
    expect(kinds('sqs/junk.json')).toEqual(['invalid', 'invalid']);
    const encoded = parseMessageBody(loadEvent<SQSEvent>('sqs/encoded-key.json').Records[0]!.body, routes);
    expect(encoded.kind === 'files' && encoded.units.map((u) => [u.key, u.dataset])).toEqual([
      ['transactions/d=2019-10-01/day one+%.json', 'transactions'],
    ]);
  });
});

describe('events/schedule and events/transfer samples', () => {
  it('weekly.json is an EventBridge scheduled event', () => {
    const e = loadEvent<ScheduledEvent>('schedule/weekly.json');
    expect(e).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      version: '0',
      detail: {},
    });
    expect(e.resources[0]).toMatch(new RegExp(`^arn:aws:events:${e.region}:${e.account}:rule/.+`));
    expect(new Date(e.time).getUTCDay()).toBe(1); // the rebuild runs on Mondays
  });

  it.each([
    ['transfer/orders.json', 'ORDERS_100K'],
    ['transfer/locations.json', 'LOCATIONS_595'],
  ])('%s is a transfer_data payload', (sample, table) => {
    expect(loadEvent(sample)).toEqual({ source_table: table, destination_s3_bucket: 'exports' });
  });
});

describe('loadEvent', () => {
  it('returns a fresh deep copy on each call', () => {
    const a = loadEvent<SQSEvent>('sqs/put.json');
    a.Records[0]!.attributes.ApproximateReceiveCount = '99';
    a.Records.pop();
    const b = loadEvent<SQSEvent>('sqs/put.json');
    expect(b.Records).toHaveLength(3);
    expect(b.Records[0]!.attributes.ApproximateReceiveCount).toBe('1');
  });

  it('refuses paths outside events/', () => {
    expect(() => loadEvent('../package.json')).toThrow(/escapes events/);
  });
});

describe('event factories', () => {
  beforeEach(() => resetEventFactories());

  it('s3Record encodes the key as S3 does and fills the documented fields', () => {
    const r = s3Record({ key: 'starter/my file+v1%.csv', size: 10, eTag: 'abc', versionId: 'v1' });
    expect(r.s3.object).toEqual({
      key: 'starter/my+file%2Bv1%25.csv',
      size: 10,
      eTag: 'abc',
      versionId: 'v1',
      sequencer: expect.stringMatching(/^[0-9A-F]{18}$/),
    });
    expect(r).toMatchObject({ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' });
    expect(r.s3.bucket.arn).toBe('arn:aws:s3:::landing');
  });

  it('hands out increasing sequencers, so a later write to a key orders after an earlier one', () => {
    const first = s3Record({ key: 'customers.csv' }).s3.object.sequencer;
    const second = s3Record({ key: 'customers.csv' }).s3.object.sequencer;
    expect(second.padStart(32, '0') > first.padStart(32, '0')).toBe(true);
  });

  it('sqsRecordFor wraps S3 records in a body with its MD5, and sqsEvent batches records', () => {
    const rec = sqsRecordFor([s3Record({ key: 'products.csv' })], { receiveCount: 3, messageId: 'm-1' });
    const event = sqsEvent([rec, sqsRecordWithBody('junk')]);
    expect(event.Records).toHaveLength(2);
    expect(rec.messageId).toBe('m-1');
    expect(rec.attributes.ApproximateReceiveCount).toBe('3');
    expect(rec.md5OfBody).toBe(md5(rec.body));
    expect(formDecode((JSON.parse(rec.body) as S3Event).Records[0]!.s3.object.key)).toBe('products.csv');
    expect(event.Records[1]!.body).toBe('junk');
  });
});
