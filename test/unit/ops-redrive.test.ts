/**
 * Redrive without services: the AWS calls (aws-sdk-client-mock) and the reasons taken from the
 * ledger (a stub warehouse that answers the ledger lookup from rows given here).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../shared/config';
import { explainMessages, peekDlq, redrive, summariseReasons } from '../../shared/ops/redrive';
import type { Param, Row, Warehouse } from '../../shared/warehouse/port';
import { s3NotificationBody, s3Record, s3TestEventBody } from '../support/events';
import { duckdbDialect } from '../../shared/warehouse/dialect';

const routes = loadConfig({ STAGE: 'local' }).routes;
const sqsMock = mockClient(SQSClient);
const DLQ = 'https://sqs.eu-west-2.amazonaws.com/123456789012/sp-dev-ingest-dlq';
const QUEUE = 'https://sqs.eu-west-2.amazonaws.com/123456789012/sp-dev-ingest';
const arnOf = (url: string) => `arn:aws:sqs:eu-west-2:123456789012:${url.split('/').pop()}`;

beforeEach(() => {
  sqsMock.reset();
  sqsMock
    .on(GetQueueAttributesCommand)
    .callsFake((input: { QueueUrl: string }) => ({ Attributes: { QueueArn: arnOf(input.QueueUrl) } }));
});

const message = (id: string, body: string, receiveCount = 5): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: body,
  Attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: String(Date.UTC(2024, 0, 2, 3, 4, 5)),
  },
});

/** A warehouse that knows only the ledger rows given, matched on (bucket, key, version) params. */
function ledgerStub(
  rows: { bucket: string; key: string; version: string; status: string; first_error: string | null }[],
): Warehouse {
  return {
    engine: 'duckdb',
    dialect: duckdbDialect,
    query: async <T extends Row = Row>(_sql: string, params: readonly Param[] = []) => {
      const hits: Row[] = [];
      for (let i = 0; i < params.length; i += 3) {
        const r = rows.find(
          (x) => x.bucket === params[i] && x.key === params[i + 1] && x.version === params[i + 2],
        );
        if (r) hits.push({ ...r, attempts: 5 });
      }
      return hits as T[];
    },
    execute: async () => 0,
    executeScript: async () => undefined,
    stream: async function* () {},
    transaction: async (fn) => fn(ledgerStub(rows)),
    describeTable: async () => [],
    findTables: async () => [],
    close: async () => undefined,
  };
}

describe('peekDlq', () => {
  it('reads until the queue answers empty, skips repeats, and makes every message visible again', async () => {
    // Prepare: 12 messages over two receives, one repeated, then nothing
    const all = Array.from({ length: 12 }, (_, i) => message(`m${i}`, '{}'));
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: all.slice(0, 10) })
      .resolvesOnce({ Messages: [all[9]!, ...all.slice(10)] })
      .resolves({ Messages: [] });
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [] });
    // Act
    const peeked = await peekDlq(new SQSClient({ region: 'eu-west-2' }), DLQ);
    // Assess
    expect(peeked.map((m) => m.MessageId)).toEqual(all.map((m) => m.MessageId));
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries!);
    expect(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout])).toEqual(
      all.map((m) => [m.ReceiptHandle, 0]),
    );
    expect(sqsMock.commandCalls(ReceiveMessageCommand)[0]!.args[0].input).toMatchObject({
      QueueUrl: DLQ,
      WaitTimeSeconds: 1,
    });
  });
});

describe('explainMessages', () => {
  it('takes each message’s reason from the ledger, or from its shape', async () => {
    // Prepare
    const body = (key: string, eTag: string) => s3NotificationBody([s3Record({ key, eTag, sequencer: 'A1' })]);
    const messages = [
      message('a', body('transactions/d=2024-01-01/x.json.gz', 'e1')),
      message('b', body('transactions/d=2024-01-02/y.json.gz', 'e2')),
      message('c', body('transactions/d=2024-01-03/z.json', 'e3')),
      message('d', body('transactions/d=2024-01-04/w.json', 'e4')),
      message('e', 'hello, not json'),
      message('f', s3TestEventBody()),
    ];
    const wh = ledgerStub([
      {
        bucket: 'landing',
        key: 'transactions/d=2024-01-01/x.json.gz',
        version: 'e1@A1',
        status: 'failed',
        first_error: 'unreadable: incorrect header check',
      },
      {
        bucket: 'landing',
        key: 'transactions/d=2024-01-02/y.json.gz',
        version: 'e2@A1',
        status: 'failed',
        first_error: 'unreadable: incorrect header check',
      },
      {
        bucket: 'landing',
        key: 'transactions/d=2024-01-03/z.json',
        version: 'e3@A1',
        status: 'loaded',
        first_error: null,
      },
    ]);
    // Act
    const explained = await explainMessages(wh, messages, routes);
    // Assess
    expect(explained.map((e) => [e.messageId, e.reason])).toEqual([
      ['a', 'failed: unreadable: incorrect header check'],
      ['b', 'failed: unreadable: incorrect header check'],
      ['c', 'already loaded (redrive is a no-op)'],
      ['d', expect.stringMatching(/^not in the ledger/)],
      ['e', 'not an S3 notification: body is not JSON'],
      ['f', 's3:TestEvent (acknowledged on redrive)'],
    ]);
    expect(explained[0]).toMatchObject({
      receiveCount: 5,
      sentAt: '2024-01-02T03:04:05.000Z',
      objects: ['transactions/d=2024-01-01/x.json.gz@e1@A1'],
    });
    expect(summariseReasons(explained)[0]).toEqual({
      reason: 'failed: unreadable: incorrect header check',
      count: 2,
    });
    expect(summariseReasons(explained).reduce((s, r) => s + r.count, 0)).toBe(messages.length);
  });
});

describe('redrive', () => {
  it('starts an SQS message move task from the DLQ to the ingest queue and waits for it', async () => {
    // Prepare
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-1' });
    sqsMock
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({ Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 3 }] })
      .resolves({ Results: [{ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 7 }] });
    // Act
    const result = await redrive({
      sqs: new SQSClient({ region: 'eu-west-2' }),
      dlqUrl: DLQ,
      queueUrl: QUEUE,
      pollMs: 1,
    });
    // Assess
    expect(result).toEqual({ method: 'move-task', moved: 7, status: 'COMPLETED', taskHandle: 'handle-1' });
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)[0]!.args[0].input).toEqual({
      SourceArn: arnOf(DLQ),
      DestinationArn: arnOf(QUEUE),
    });
    expect(sqsMock.commandCalls(ListMessageMoveTasksCommand)[0]!.args[0].input).toEqual({
      SourceArn: arnOf(DLQ),
      MaxResults: 1,
    });
  });

  it('reports a failed move task with its reason', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    sqsMock
      .on(ListMessageMoveTasksCommand)
      .resolves({
        Results: [{ Status: 'FAILED', FailureReason: 'AccessDenied', ApproximateNumberOfMessagesMoved: 0 }],
      });
    await expect(
      redrive({ sqs: new SQSClient({ region: 'eu-west-2' }), dlqUrl: DLQ, queueUrl: QUEUE, pollMs: 1 }),
    ).rejects.toThrow(/DLQ move task failed: AccessDenied/);
  });

  it('falls back to receive/send/delete where the server has no move task, deleting only what was sent', async () => {
    // Prepare
    const unsupported = Object.assign(new Error('not supported'), { name: 'UnsupportedOperation' });
    sqsMock.on(StartMessageMoveTaskCommand).rejects(unsupported);
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('a', 'A'), message('b', 'B'), message('c', 'C')] })
      .resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: '0', MessageId: 'x', MD5OfMessageBody: '' },
        { Id: '2', MessageId: 'y', MD5OfMessageBody: '' },
      ],
      Failed: [],
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [] });
    // Act
    const result = await redrive({
      sqs: new SQSClient({ region: 'eu-west-2' }),
      dlqUrl: DLQ,
      queueUrl: QUEUE,
    });
    // Assess
    expect(result).toEqual({ method: 'manual', moved: 2, status: 'COMPLETED' });
    const sent = sqsMock.commandCalls(SendMessageBatchCommand)[0]!.args[0].input;
    expect(sent.QueueUrl).toBe(QUEUE);
    expect(sent.Entries!.map((e) => e.MessageBody)).toEqual(['A', 'B', 'C']);
    const deleted = sqsMock.commandCalls(DeleteMessageBatchCommand)[0]!.args[0].input;
    expect(deleted.QueueUrl).toBe(DLQ);
    expect(deleted.Entries!.map((e) => e.ReceiptHandle)).toEqual(['rh-a', 'rh-c']);
  });

  it('does not hide other errors behind the fallback', async () => {
    sqsMock
      .on(StartMessageMoveTaskCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await expect(
      redrive({ sqs: new SQSClient({ region: 'eu-west-2' }), dlqUrl: DLQ, queueUrl: QUEUE }),
    ).rejects.toThrow('denied');
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });
});
