/**
 * Redrive: look at what is in the ingest dead-letter queue, say why each message is there (from the
 * file ledger), and move the messages back to the ingest queue once the cause is fixed.
 *
 * Moving uses SQS's own DLQ redrive, StartMessageMoveTask (the API behind the console's "Start DLQ
 * redrive"); the local SQS server implements it too. Where a server does not, the fallback is
 * receive -> send to the source queue -> delete from the DLQ, deleting only what was sent, so a
 * crash in between duplicates a message (harmless: the ledger dedupes) but never loses one.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Route } from '../config';
import { TransientError } from '../errors';
import { parseMessageBody } from '../events/s3-notification';
import type { Warehouse } from '../warehouse/port';
import { queueArn } from './target';

export interface PeekOptions {
  /** Stop after this many messages (default 1000). */
  max?: number;
  /**
   * Long-poll seconds per receive. 1 (default) asks every SQS server, so an empty answer means the
   * queue is empty; short polling (0) samples a subset and may answer empty too early.
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html
   */
  waitTimeSeconds?: number;
}

/**
 * Read the DLQ without consuming it: messages are received with a visibility timeout long enough
 * to page through the queue, then made visible again at once (ChangeMessageVisibility 0), so a
 * redrive right after a peek finds them all.
 */
export async function peekDlq(sqs: SQSClient, dlqUrl: string, opts: PeekOptions = {}): Promise<Message[]> {
  const max = opts.max ?? 1000;
  const seen = new Map<string, Message>();
  try {
    while (seen.size < max) {
      const res = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: Math.min(10, max - seen.size),
          VisibilityTimeout: 60,
          WaitTimeSeconds: opts.waitTimeSeconds ?? 1,
          MessageSystemAttributeNames: [
            'ApproximateReceiveCount',
            'SentTimestamp',
            'DeadLetterQueueSourceArn',
          ],
          // the older name of the same request field, which some SQS-compatible servers still read
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const fresh = (res.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
      if (fresh.length === 0) break;
      for (const m of fresh) seen.set(m.MessageId as string, m);
    }
  } finally {
    await releaseMessages(sqs, dlqUrl, [...seen.values()]);
  }
  return [...seen.values()];
}

async function releaseMessages(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(i, i + 10).map((m, j) => ({
          Id: String(j),
          ReceiptHandle: m.ReceiptHandle as string,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

export interface ExplainedMessage {
  messageId: string;
  receiveCount: number | undefined;
  sentAt: string | undefined;
  /** The objects the message names (key@version), empty when it is not an S3 notification. */
  objects: string[];
  reason: string;
}

interface LedgerHit {
  bucket: string;
  key: string;
  version: string;
  status: string;
  first_error: string | null;
  attempts: number;
}

const MAX_REASON = 200;

function clip(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > MAX_REASON ? one.slice(0, MAX_REASON - 1) + '…' : one;
}

/** Why each message is in the DLQ: its shape first, then what the ledger recorded for its files. */
export async function explainMessages(
  wh: Warehouse,
  messages: Message[],
  routes: readonly Route[],
): Promise<ExplainedMessage[]> {
  const parsed = messages.map((m) => ({ message: m, parsed: parseMessageBody(m.Body ?? '', routes) }));
  const units = parsed.flatMap((p) => (p.parsed.kind === 'files' ? p.parsed.units : []));
  const hits = new Map<string, LedgerHit>();
  for (let i = 0; i < units.length; i += 100) {
    const chunk = units.slice(i, i + 100);
    const rows = await wh.query(
      `select bucket, key, version, status, first_error, attempts from raw.file_ledger
        where ${chunk.map(() => '(bucket = ? and key = ? and version = ?)').join(' or ')}`,
      chunk.flatMap((u) => [u.bucket, u.key, u.version]),
    );
    for (const row of rows) {
      const r = lowerKeys(row) as unknown as LedgerHit;
      hits.set(`${r.bucket}\u0000${r.key}\u0000${r.version}`, r);
    }
  }
  return parsed.map(({ message, parsed: p }) => {
    const attrs = message.Attributes ?? {};
    const base = {
      messageId: message.MessageId ?? '',
      receiveCount: attrs.ApproximateReceiveCount ? Number(attrs.ApproximateReceiveCount) : undefined,
      sentAt: attrs.SentTimestamp ? new Date(Number(attrs.SentTimestamp)).toISOString() : undefined,
    };
    if (p.kind === 'invalid')
      return { ...base, objects: [], reason: clip(`not an S3 notification: ${p.reason}`) };
    if (p.kind === 'test') return { ...base, objects: [], reason: 's3:TestEvent (acknowledged on redrive)' };
    if (p.units.length === 0)
      return { ...base, objects: [], reason: 'no routed object (acknowledged on redrive)' };
    const reasons = p.units.map((u) => {
      const hit = hits.get(`${u.bucket}\u0000${u.key}\u0000${u.version}`);
      if (!hit)
        return 'not in the ledger: the load failed before recording an outcome (transient error or crash; see the ingest logs)';
      switch (hit.status) {
        case 'failed':
          // errors often start with the key; without it, the same failure of many files groups as one reason
          return clip(`failed: ${(hit.first_error ?? 'no error recorded').replace(`${u.key}: `, '')}`);
        case 'loaded':
          return 'already loaded (redrive is a no-op)';
        case 'held':
          return clip(`held for an operator: ${hit.first_error ?? 'a snapshot the guard holds'}`);
        case 'pending':
          return 'pending: handed to Snowpipe (a redrive looks at it again)';
        default:
          return `${hit.status} by a newer version (redrive is a no-op)`;
      }
    });
    // the most telling reason first: a recorded failure beats "not in the ledger" beats a no-op
    const rank = (r: string) => (r.startsWith('failed') ? 0 : r.startsWith('not in') ? 1 : 2);
    return {
      ...base,
      objects: p.units.map((u) => `${u.key}@${u.version}`),
      reason: [...reasons].sort((a, b) => rank(a) - rank(b))[0]!,
    };
  });
}

export function summariseReasons(
  explained: readonly ExplainedMessage[],
): { reason: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const e of explained) counts.set(e.reason, (counts.get(e.reason) ?? 0) + 1);
  return [...counts.entries()]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export type RedriveMethod = 'move-task' | 'manual';

export interface RedriveOptions {
  sqs: SQSClient;
  dlqUrl: string;
  queueUrl: string;
  /** 'auto' (default): the move task, or the manual fallback where the server lacks it. */
  method?: RedriveMethod | 'auto';
  /** Wait for the move task to finish (default true). */
  wait?: boolean;
  timeoutMs?: number;
  pollMs?: number;
}

export interface RedriveResult {
  method: RedriveMethod;
  moved: number;
  status: string;
  taskHandle?: string;
}

const UNSUPPORTED = /UnsupportedOperation|InvalidAction|UnknownOperation|NotImplemented/;

export async function redrive(opts: RedriveOptions): Promise<RedriveResult> {
  const method = opts.method ?? 'auto';
  if (method === 'manual') return moveByHand(opts);
  try {
    return await moveTask(opts);
  } catch (err) {
    if (method === 'auto' && UNSUPPORTED.test(`${(err as Error).name} ${(err as Error).message}`))
      return moveByHand(opts);
    throw err;
  }
}

async function moveTask(opts: RedriveOptions): Promise<RedriveResult> {
  const { sqs } = opts;
  const [sourceArn, destinationArn] = await Promise.all([
    queueArn(sqs, opts.dlqUrl),
    queueArn(sqs, opts.queueUrl),
  ]);
  // DestinationArn named explicitly: the default ("back to the source queue") needs every message
  // to carry its DeadLetterQueueSourceArn, and this DLQ has exactly one source anyway.
  const started = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }),
  );
  const handle = started.TaskHandle;
  if (opts.wait === false) return { method: 'move-task', moved: 0, status: 'RUNNING', taskHandle: handle };
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  for (;;) {
    // the most recent task comes first; a finished task no longer reports its handle
    const res = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
    const task = res.Results?.[0];
    if (task && task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') {
      if (task.Status === 'FAILED') {
        throw new TransientError(
          `DLQ move task failed: ${task.FailureReason ?? 'no reason given'} (moved ${task.ApproximateNumberOfMessagesMoved ?? 0})`,
        );
      }
      return {
        method: 'move-task',
        moved: Number(task.ApproximateNumberOfMessagesMoved ?? 0),
        status: task.Status ?? 'UNKNOWN',
        taskHandle: handle,
      };
    }
    if (Date.now() > deadline) {
      throw new TransientError(
        `DLQ move task still running after ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s (handle ${handle}); it goes on in SQS`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}

async function moveByHand(opts: RedriveOptions): Promise<RedriveResult> {
  const { sqs } = opts;
  let moved = 0;
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: opts.dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 120,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0) break;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: messages.map((m, j) => ({
          Id: String(j),
          MessageBody: m.Body ?? '',
          MessageAttributes: m.MessageAttributes,
        })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = messages.filter((_, j) => ok.has(String(j)));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: opts.dlqUrl,
          Entries: done.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
    moved += done.length;
    if ((sent.Failed ?? []).length > 0) {
      const f = sent.Failed![0]!;
      throw new TransientError(
        `redrive stopped: ${sent.Failed!.length} message(s) not sent (${f.Code}: ${f.Message ?? ''}); moved ${moved}`,
      );
    }
  }
  return { method: 'manual', moved, status: 'COMPLETED' };
}

function lowerKeys(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]));
}
