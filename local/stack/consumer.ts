/**
 * The local event source mapping: polls the queue like Lambda's SQS poller and invokes the very same
 * handler Lambda calls (functions/ingest.ts), with a real-shaped SQSEvent.
 *
 * SQS semantics, as AWS applies them with `ReportBatchItemFailures`:
 *   - up to `batchSize` messages per invocation, collected for at most `batchWindowMs`;
 *   - records not named in `batchItemFailures` are deleted; the named ones stay in flight and come
 *     back after the visibility timeout; a thrown error fails the whole batch;
 *   - after `maxReceiveCount` receives the queue's RedrivePolicy moves a message to the DLQ.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Logger } from '../../shared/logger';

/** The local invocation's default timeout (the deployed ingest function has 300 s: serverless.yml ingestTimeout). */
const INVOCATION_TIMEOUT_MS = 120_000;

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface ConsumerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  handler: SqsHandler;
  batchSize: number;
  batchWindowMs: number;
  /** Idle wait between empty polls (short polling: the emulator's long polling can repeat a message). */
  idleMs?: number;
  /** Concurrent pollers, like the event source mapping's maximum concurrency (default 1). */
  concurrency?: number;
  /** The invocation's timeout: what context.getRemainingTimeInMillis() runs down from (default 120 s). */
  invocationTimeoutMs?: number;
  log: Logger;
}

export interface Delivery {
  records: number;
  failed: number;
  durationMs: number;
}

export class QueueConsumer {
  private running = false;
  private loops: Promise<void>[] = [];
  private busy = 0;
  readonly deliveries: Delivery[] = [];
  private invocation = 0;

  constructor(private readonly opts: ConsumerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: Math.max(1, this.opts.concurrency ?? 1) }, () => this.run());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** True while a batch is being handled. */
  get isBusy(): boolean {
    return this.busy > 0;
  }

  private async run(): Promise<void> {
    const idle = this.opts.idleMs ?? 200;
    while (this.running) {
      let messages: Message[] = [];
      try {
        messages = await this.collect();
      } catch (err) {
        this.opts.log.error('queue poll failed', { error: (err as Error).message });
        await sleep(1000);
        continue;
      }
      if (messages.length === 0) {
        await sleep(idle);
        continue;
      }
      await this.deliver(messages);
    }
  }

  /** Collect up to batchSize messages, waiting at most batchWindowMs once the first has arrived. */
  private async collect(): Promise<Message[]> {
    const { client, queueUrl, batchSize, batchWindowMs } = this.opts;
    const messages: Message[] = [];
    const seen = new Set<string>();
    const deadline = Date.now() + batchWindowMs;
    do {
      const res = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          AttributeNames: ['All'],
        }),
      );
      for (const m of res.Messages ?? []) {
        if (m.MessageId && !seen.has(m.MessageId)) {
          seen.add(m.MessageId);
          messages.push(m);
        }
      }
      if (messages.length === 0 || (res.Messages ?? []).length === 0) {
        if (messages.length === 0 || Date.now() >= deadline) break;
        await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
      }
    } while (messages.length < batchSize && Date.now() < deadline);
    return messages;
  }

  private async deliver(messages: Message[]): Promise<void> {
    this.busy++;
    try {
      await this.handle(messages);
    } catch (err) {
      this.opts.log.error('delivery failed', { error: (err as Error).message });
    } finally {
      this.busy--;
    }
  }

  private async handle(messages: Message[]): Promise<void> {
    const { client, queueUrl, handler, log } = this.opts;
    const started = Date.now();
    const event: SQSEvent = { Records: messages.map((m) => this.toRecord(m)) };
    let failedIds: Set<string>;
    try {
      const response = await handler(event, this.context());
      failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      failedIds = new Set(messages.map((m) => m.MessageId as string));
      log.error('ingest invocation failed: whole batch will be redelivered', { error: (err as Error).message });
    }
    const done = messages.filter((m) => !failedIds.has(m.MessageId as string));
    for (let i = 0; i < done.length; i += 10) {
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
    const delivery = { records: messages.length, failed: failedIds.size, durationMs: Date.now() - started };
    this.deliveries.push(delivery);
    if (this.deliveries.length > 10000) this.deliveries.shift();
    log.info('delivery', {
      records: delivery.records,
      failed: delivery.failed,
      receives: messages.map((m) => m.Attributes?.ApproximateReceiveCount ?? '?').join(','),
      durationMs: delivery.durationMs,
    });
  }

  private toRecord(m: Message): SQSRecord {
    const a = m.Attributes ?? {};
    return {
      messageId: m.MessageId as string,
      receiptHandle: m.ReceiptHandle as string,
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
        SentTimestamp: a.SentTimestamp ?? String(Date.now()),
        SenderId: a.SenderId ?? 'LOCAL',
        ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.opts.queueArn,
      awsRegion: this.opts.region,
    };
  }

  private context(): Context {
    const id = `local-${++this.invocation}`;
    // like Lambda's: the time left of the invocation's timeout, running down
    const endsAt = Date.now() + (this.opts.invocationTimeoutMs ?? INVOCATION_TIMEOUT_MS);
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: 'shopping-patterns-local-ingest',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:shopping-patterns-local-ingest',
      memoryLimitInMB: '1024',
      awsRequestId: id,
      logGroupName: '/aws/lambda/shopping-patterns-local-ingest',
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
