/**
 * The S3-in-SQS envelope and the batch contract, without services: a stub warehouse (no ledger rows)
 * and a fake landing stand in, so the test is about which records fail, which files reach the flow,
 * how they are grouped, and what the deadline and the bucket filter do.
 */
import { loadConfig } from '../../shared/config';
import { defaultRegistry } from '../../shared/datasets';
import { TerminalError, TransientError } from '../../shared/errors';
import { parseMessageBody } from '../../shared/events/s3-notification';
import { pendingDelaySeconds, processBatch, type BatchDeps } from '../../shared/ingest/batch';
import type { Landing } from '../../shared/ingest/flow';
import type { AppendCounts, FileUnit, LandedFile, LoadOutcome } from '../../shared/ingest/types';
import { createLogger } from '../../shared/logger';
import { duckdbDialect } from '../../shared/warehouse/dialect';
import type { Warehouse } from '../../shared/warehouse/port';
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

/** A warehouse with an empty ledger that records what is executed. */
function stubWarehouse(): Warehouse & { executed: string[] } {
  const wh = {
    engine: 'duckdb' as const,
    dialect: { ...duckdbDialect, selfMigrating: false },
    executed: [] as string[],
    query: async () => [],
    execute: async (sql: string) => {
      wh.executed.push(sql);
      return 0;
    },
    executeScript: async () => undefined,
    stream: async function* () {},
    transaction: async <T>(fn: (tx: Warehouse) => Promise<T>) => fn(wh as unknown as Warehouse),
    describeTable: async () => [],
    close: async () => undefined,
  };
  return wh as unknown as Warehouse & { executed: string[] };
}

/** A landing that lands every file unless `decide` says otherwise, recording the calls. */
class FakeLanding implements Landing {
  static calls: { dataset: string; keys: string[] }[] = [];
  constructor(private readonly decide: (unit: FileUnit) => Partial<LoadOutcome> | undefined = () => undefined) {}
  async land(decl: { name: string }, units: FileUnit[]) {
    FakeLanding.calls.push({ dataset: decl.name, keys: units.map((u) => u.key) });
    const landed: LandedFile[] = [];
    const decided: LoadOutcome[] = [];
    for (const unit of units) {
      const d = this.decide(unit);
      if (d) decided.push({ unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, ...d });
      else landed.push({ unit, loadId: `load-${unit.key}`, lastModified: new Date(unit.eventTime) });
    }
    return { landed, decided };
  }
  async append(_tx: Warehouse, _decl: unknown, landed: LandedFile[]) {
    return new Map<string, AppendCounts>(landed.map((f) => [f.loadId, { rows: 1, quarantined: 0, firstReason: undefined, fatal: undefined }]));
  }
}

function deps(landing: () => Landing, extra: Partial<BatchDeps> = {}): BatchDeps {
  return { wh: stubWarehouse(), landing, registry: defaultRegistry, routes, buckets: ['landing'], log, ...extra };
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

  it('takes a multipart upload (ETag with -N) and uses versionId as the version when present, else ETag@sequencer', () => {
    const parsed = parseMessageBody(
      s3NotificationBody([
        s3Record({ key: 'customers.csv', eventName: 'ObjectCreated:CompleteMultipartUpload', eTag: 'abc-3', sequencer: '0A' }),
        s3Record({ key: 'products.csv', versionId: 'v.1', eTag: 'def' }),
      ]),
      routes,
    );
    expect(parsed).toMatchObject({
      kind: 'files',
      units: [
        // unversioned: the ETag at its sequencer (the same content uploaded again is a new unit)
        { key: 'customers.csv', version: 'abc-3@0A', etag: 'abc-3', versionId: undefined },
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
  beforeEach(() => (FakeLanding.calls = []));

  it('groups files by dataset (one flow each) and fails nothing when all load', async () => {
    const records = [
      sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/a.json' })]),
      sqsRecordFor([s3Record({ key: 'customers.csv' })]),
      sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-02/a.json' })]),
    ];
    const result = await processBatch(records, deps(() => new FakeLanding()));
    expect(result.batchItemFailures).toEqual([]);
    expect(FakeLanding.calls).toEqual([
      { dataset: 'transactions', keys: ['transactions/d=2019-10-01/a.json', 'transactions/d=2019-10-02/a.json'] },
      { dataset: 'customers', keys: ['customers.csv'] },
    ]);
  });

  it('fails only the poison message and the record whose file failed; acknowledges test events and unrouted keys', async () => {
    const landing = () => new FakeLanding((u) => (u.key.includes('bad') ? { error: new TerminalError('corrupt gzip') } : undefined));
    const junk = sqsRecordWithBody('{"hello":1}');
    const bad = sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/bad.json.gz' })]);
    const records = [
      sqsRecordWithBody(s3TestEventBody()),
      junk,
      sqsRecordFor([s3Record({ key: 'readme.txt' })]),
      bad,
      sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/good.json' })]),
    ];
    const result = await processBatch(records, deps(landing));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: junk.messageId }, { itemIdentifier: bad.messageId }]);
    expect(result.summary).toMatchObject({ records: 5, failedRecords: 2, files: 2, loaded: 1, failed: 1, ignored: 1 });
  });

  it('acknowledges an event of another bucket without loading it (rows belong to the landing bucket)', async () => {
    const other = sqsRecordFor([s3Record({ bucket: 'exports', key: 'transactions/d=2019-10-01/shared.json' })]);
    const result = await processBatch([other], deps(() => new FakeLanding()));
    expect(result.batchItemFailures).toEqual([]);
    expect(result.summary).toMatchObject({ files: 0, ignored: 1 });
    expect(FakeLanding.calls).toEqual([]);
  });

  it('fails every record of a dataset whose flow cannot start (warehouse down), and only those', async () => {
    const down = stubWarehouse();
    down.query = async (_sql: string, params?: readonly unknown[]) => {
      if (params?.some((p) => String(p).startsWith('transactions/'))) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return [];
    };
    const t1 = sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/a.json' })]);
    const c = sqsRecordFor([s3Record({ key: 'customers.csv' })]);
    const result = await processBatch([t1, c], deps(() => new FakeLanding(), { wh: down }));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: t1.messageId }]);
    expect(result.summary.failed).toBe(1);
  });

  it('fails a record carrying several files when any of them failed', async () => {
    const landing = () => new FakeLanding((u) => (u.key.endsWith('b.json') ? { error: new TransientError('throttled') } : undefined));
    const both = sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/a.json' }), s3Record({ key: 'transactions/d=2019-10-01/b.json' })]);
    const result = await processBatch([both], deps(landing));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: both.messageId }]);
  });

  it('stops taking work before the deadline: what is left goes back to SQS unloaded', async () => {
    let remaining = 120_000;
    const landing = () => {
      remaining = 30_000; // the first dataset took the time
      return new FakeLanding();
    };
    const t = sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/a.json' })]);
    const c = sqsRecordFor([s3Record({ key: 'customers.csv' })]);
    const result = await processBatch([t, c], deps(landing, { remainingMs: () => remaining, reserveMs: 60_000 }));
    expect(FakeLanding.calls.map((x) => x.dataset)).toEqual(['transactions']);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: c.messageId }]);
  });

  it('does not start the write transaction when landing left less than half the reserve: the files go back to SQS', async () => {
    let remaining = 120_000;
    let appended = 0;
    class SlowLanding extends FakeLanding {
      constructor(private readonly leftAfter: number) {
        super();
      }
      override async land(decl: { name: string }, units: FileUnit[]) {
        remaining = this.leftAfter; // a COPY that took the time
        return super.land(decl, units);
      }
      override async append(tx: Warehouse, decl: unknown, landed: LandedFile[]) {
        appended++;
        return super.append(tx, decl, landed);
      }
    }
    const t = sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/a.json' })]);
    // 25 s left of a 60 s reserve: not written, handed back
    const late = await processBatch([t], deps(() => new SlowLanding(25_000), { remainingMs: () => remaining, reserveMs: 60_000 }));
    expect(appended).toBe(0);
    expect(late.batchItemFailures).toEqual([{ itemIdentifier: t.messageId }]);
    expect(late.summary.failed).toBe(1);
    // 35 s left: written
    remaining = 120_000;
    const inTime = await processBatch([t], deps(() => new SlowLanding(35_000), { remainingMs: () => remaining, reserveMs: 60_000 }));
    expect(appended).toBe(1);
    expect(inTime.batchItemFailures).toEqual([]);
  });

  it('hands a pending (Snowpipe) record back with a delay that grows per receive', async () => {
    const delays: number[] = [];
    const landing = () => new FakeLanding(() => ({ status: 'pending' }));
    const p = sqsRecordFor([s3Record({ key: 'transactions/d=2019-10-01/a.json' })]);
    p.attributes = { ...p.attributes, ApproximateReceiveCount: '2' };
    const result = await processBatch([p], deps(landing, { onPending: async (_r, d) => void delays.push(d) }));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: p.messageId }]);
    expect(result.summary.pending).toBe(1);
    expect(delays).toEqual([120]);
    expect([1, 2, 3, 4, 5, 6].map(pendingDelaySeconds)).toEqual([60, 120, 240, 480, 900, 900]);
  });
});
