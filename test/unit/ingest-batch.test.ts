/**
 * The S3-in-SQS envelope and the batch contract, without services: a fake loader stands in for the
 * warehouse so the test is about which records fail, which files reach the loader, and how they are grouped.
 */
import type { Dataset } from '../../shared/config';
import { loadConfig } from '../../shared/config';
import { TerminalError, TransientError } from '../../shared/errors';
import { parseMessageBody } from '../../shared/events/s3-notification';
import { processBatch } from '../../shared/ingest/batch';
import type { DatasetLoader, FileUnit, LoadOutcome } from '../../shared/ingest/types';
import { createLogger } from '../../shared/logger';
import {
  loadEvent,
  resetEventFactories,
  s3NotificationBody,
  s3Record,
  s3TestEventBody,
  sqsRecordFor,
  sqsRecordWithBody,
} from '../support/events';
import type { SQSEvent } from 'aws-lambda';

const { routes } = loadConfig({});
const log = createLogger();

class RecordingLoader implements DatasetLoader {
  calls: { dataset: Dataset; keys: string[] }[] = [];
  constructor(private readonly decide: (unit: FileUnit) => Partial<LoadOutcome> = () => ({})) {}
  async load(dataset: Dataset, units: FileUnit[]): Promise<LoadOutcome[]> {
    this.calls.push({ dataset, keys: units.map((u) => u.key) });
    return units.map((unit) => ({ unit, status: 'loaded', rowsLoaded: 1, rowsQuarantined: 0, ...this.decide(unit) }));
  }
}

beforeEach(() => resetEventFactories());

describe('S3 envelope', () => {
  it('decodes keys as S3 encodes them: + for space, %2B for +, %25 for %, unicode', () => {
    const body = s3NotificationBody([s3Record({ key: 'transactions/d=2019-10-01/day one+ünï %.json' })]);
    expect(JSON.parse(body).Records[0].s3.object.key).toContain('day+one%2B');
    const parsed = parseMessageBody(body, routes);
    expect(parsed).toMatchObject({ kind: 'files', units: [{ key: 'transactions/d=2019-10-01/day one+ünï %.json', dataset: 'transactions' }] });
  });

  it('reads the sample with an encoded key exactly as sls invoke local would', () => {
    const event = loadEvent<SQSEvent>('sqs/encoded-key.json');
    const parsed = parseMessageBody(event.Records[0]!.body, routes);
    expect(parsed).toMatchObject({ kind: 'files', units: [{ key: 'transactions/d=2019-10-01/day one+%.json' }] });
  });

  it('takes a multipart upload (ETag with -N) and uses versionId as the version when present', () => {
    const parsed = parseMessageBody(
      s3NotificationBody([
        s3Record({ key: 'customers.csv', eventName: 'ObjectCreated:CompleteMultipartUpload', eTag: 'abc-3' }),
        s3Record({ key: 'products.csv', versionId: 'v.1', eTag: 'def' }),
      ]),
      routes,
    );
    expect(parsed).toMatchObject({
      kind: 'files',
      units: [
        { key: 'customers.csv', version: 'abc-3', etag: 'abc-3', versionId: undefined },
        { key: 'products.csv', version: 'v.1', etag: 'def', versionId: 'v.1' },
      ],
    });
  });

  it('recognises the test event, ignores deletions and unrouted keys, rejects junk', () => {
    expect(parseMessageBody(s3TestEventBody(), routes)).toEqual({ kind: 'test' });
    expect(
      parseMessageBody(
        s3NotificationBody([s3Record({ key: 'customers.csv', eventName: 'ObjectRemoved:Delete' }), s3Record({ key: 'notes.txt' })]),
        routes,
      ),
    ).toMatchObject({ kind: 'files', units: [], ignored: [{ key: 'customers.csv' }, { key: 'notes.txt', reason: 'key matches no dataset route' }] });
    expect(parseMessageBody('not json', routes)).toEqual({ kind: 'invalid', reason: 'body is not JSON' });
    expect(parseMessageBody('{"Records": [{"eventSource": "aws:sqs"}]}', routes)).toMatchObject({ kind: 'invalid' });
    expect(parseMessageBody('{"Records": [{"eventSource":"aws:s3"}]}', routes).kind).toBe('invalid');
  });
});

describe('processBatch', () => {
  it('groups files by dataset (one loader call each) and fails nothing when all load', async () => {
    // Prepare
    const loader = new RecordingLoader();
    const records = [
      sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/a.json' })]),
      sqsRecordFor([s3Record({ key: 'customers.csv' })]),
      sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-02/a.json' })]),
    ];
    // Act
    const result = await processBatch(records, { loader, routes, log });
    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(loader.calls).toEqual([
      { dataset: 'transactions', keys: ['transactions/d=2019-10-01/a.json', 'transactions/d=2019-10-02/a.json'] },
      { dataset: 'customers', keys: ['customers.csv'] },
    ]);
  });

  it('fails only the poison message and the record whose file failed; acknowledges test events and unrouted keys', async () => {
    const loader = new RecordingLoader((u) =>
      u.key.includes('bad') ? { status: 'failed', rowsLoaded: 0, error: new TerminalError('corrupt gzip') } : {},
    );
    const junk = sqsRecordWithBody('{"hello":1}');
    const bad = sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/bad.json.gz' })]);
    const records = [
      sqsRecordWithBody(s3TestEventBody()),
      junk,
      sqsRecordFor([s3Record({ key: 'readme.txt' })]),
      bad,
      sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/good.json' })]),
    ];
    const result = await processBatch(records, { loader, routes, log });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: junk.messageId }, { itemIdentifier: bad.messageId }]);
    expect(result.summary).toMatchObject({ records: 5, failedRecords: 2, files: 2, loaded: 1, failed: 1, ignored: 1 });
  });

  it('fails every record of a dataset whose loader throws (warehouse down), and only those', async () => {
    const loader: DatasetLoader = {
      load: async (dataset, units) => {
        if (dataset === 'transactions') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return units.map((unit) => ({ unit, status: 'loaded', rowsLoaded: 0, rowsQuarantined: 0 }));
      },
    };
    const t1 = sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/a.json' })]);
    const c = sqsRecordFor([s3Record({ key: 'customers.csv' })]);
    const result = await processBatch([t1, c], { loader, routes, log });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: t1.messageId }]);
    expect(result.summary.failed).toBe(1);
  });

  it('fails a record carrying several files when any of them failed', async () => {
    const loader = new RecordingLoader((u) =>
      u.key.endsWith('b.json') ? { status: 'failed', error: new TransientError('throttled') } : {},
    );
    const both = sqsRecordFor([
      s3Record({ key: 'transactions/d=2019-10-01/a.json' }),
      s3Record({ key: 'transactions/d=2019-10-01/b.json' }),
    ]);
    const result = await processBatch([both], { loader, routes, log });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: both.messageId }]);
  });
});
