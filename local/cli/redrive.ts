/**
 * npm run redrive -- [--peek] [--dry-run] [--method auto|move-task|manual] [--stage local|dev|prod]
 *
 * Shows what is in the ingest DLQ and why (from the file ledger), then moves the messages back to
 * the ingest queue (SQS StartMessageMoveTask). Fix the cause first: a redriven message that fails
 * again returns to the DLQ after maxReceiveCount receives.
 *
 * Moving needs SQS only. The ledger (the warehouse) only adds the reasons: when it cannot be read (on
 * dev/prod: no Snowflake key on this machine), the messages are still listed and moved, and the output
 * says what the reasons would need.
 */
import '../env';
import { parseArgs } from 'node:util';
import type { Message } from '@aws-sdk/client-sqs';
import { config, type Route } from '../../shared/config';
import { errorMessage } from '../../shared/errors';
import { parseMessageBody } from '../../shared/events/s3-notification';
import {
  explainMessages,
  peekDlq,
  redrive,
  summariseReasons,
  type ExplainedMessage,
  type RedriveMethod,
} from '../../shared/ops/redrive';
import { resolveTarget } from '../../shared/ops/target';
import { warehouse } from '../../shared/warehouse';
import { positiveNumber, run, selectStage, UsageError } from './ops-common';

const USAGE = `Usage: npm run redrive -- [options]

Counts the messages in the ingest dead-letter queue, summarises why they are there (the file
ledger's status and first error for the files they name), and moves them back to the ingest queue.

Options:
  --peek                  print every message (files, receive count, reason); move nothing
  --dry-run               print the count and the reason summary; move nothing
  --method M              auto (default): SQS StartMessageMoveTask, or receive/send/delete where the
                          server lacks it; move-task or manual to force one
  --max N                 read at most N messages for the summary (default 1000)
  --timeout SECONDS       how long to wait for the move task (default 600)
  --stage local|dev|prod  default local (the running npm start stack)
  -h, --help              show this help

Needs: SQS access to both queues (ReceiveMessage, ChangeMessageVisibility, GetQueueAttributes,
StartMessageMoveTask, ListMessageMoveTasks; GetQueueUrl unless INGEST_QUEUE_URL and INGEST_DLQ_URL are
set). The reasons come from the file ledger and need the warehouse (on dev/prod a Snowflake key:
SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_SECRET_ARN, with SNOWFLAKE_ACCOUNT and SNOWFLAKE_USER); without
it the messages are still listed and moved.

Exit code: 0 when the DLQ was empty or was redriven (or only looked at), 2 when it could not run.
`;

/** What each message names, when the ledger cannot be read: its shape only. */
function explainWithoutLedger(messages: Message[], routes: readonly Route[], why: string): ExplainedMessage[] {
  return messages.map((m) => {
    const p = parseMessageBody(m.Body ?? '', routes);
    const attrs = m.Attributes ?? {};
    return {
      messageId: m.MessageId ?? '',
      receiveCount: attrs.ApproximateReceiveCount ? Number(attrs.ApproximateReceiveCount) : undefined,
      sentAt: attrs.SentTimestamp ? new Date(Number(attrs.SentTimestamp)).toISOString() : undefined,
      objects: p.kind === 'files' ? p.units.map((u) => `${u.key}@${u.version}`) : [],
      reason:
        p.kind === 'invalid'
          ? `not an S3 notification: ${p.reason}`
          : p.kind === 'test'
            ? 's3:TestEvent (acknowledged on redrive)'
            : `unknown: ${why}`,
    };
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      peek: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      method: { type: 'string', default: 'auto' },
      max: { type: 'string' },
      timeout: { type: 'string' },
      stage: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const method = values.method as string;
  if (!['auto', 'move-task', 'manual'].includes(method))
    throw new UsageError(`--method must be auto, move-task or manual, got ${method}`);
  const max = positiveNumber('--max', values.max, 1000);
  const timeoutMs = positiveNumber('--timeout', values.timeout, 600) * 1000;
  // redrive touches queues only; the bucket names of an AWS stage are not needed
  const stage = selectStage(values.stage, { buckets: false });
  const cfg = config();
  const target = await resolveTarget(cfg);
  const wh = warehouse();
  try {
    process.stderr.write(`DLQ ${target.dlqUrl} -> ${target.queueUrl} (stage ${stage})\n`);
    const messages = await peekDlq(target.sqs, target.dlqUrl, {
      max,
      waitTimeSeconds: stage === 'local' ? 0 : 1,
    });
    let explained: ExplainedMessage[];
    if (messages.length === 0) explained = [];
    else {
      try {
        explained = await explainMessages(wh, messages, cfg.routes);
      } catch (err) {
        const why = `the file ledger could not be read (${errorMessage(err)})`;
        process.stderr.write(`note: ${why}; the messages are listed and moved without its reasons\n`);
        explained = explainWithoutLedger(messages, cfg.routes, 'the ledger was not read');
      }
    }
    process.stdout.write(
      `messages in the DLQ: ${messages.length}${messages.length >= max ? ` (stopped reading at --max ${max})` : ''}\n`,
    );
    if (messages.length === 0) return 0;
    if (values.peek) {
      for (const m of explained) {
        process.stdout.write(
          `\n${m.messageId}  received ${m.receiveCount ?? '?'}x  sent ${m.sentAt ?? '?'}\n` +
            (m.objects.length > 0 ? m.objects.map((o) => `  ${o}\n`).join('') : '') +
            `  reason: ${m.reason}\n`,
        );
      }
    }
    process.stdout.write('\nreasons:\n');
    for (const r of summariseReasons(explained))
      process.stdout.write(`  ${String(r.count).padStart(5)}  ${r.reason}\n`);
    if (values.peek || values['dry-run']) {
      process.stdout.write(
        `\n${values.peek ? '[peek]' : '[dry run]'} nothing moved; run without --peek/--dry-run to redrive\n`,
      );
      return 0;
    }
    const result = await redrive({
      sqs: target.sqs,
      dlqUrl: target.dlqUrl,
      queueUrl: target.queueUrl,
      method: method as RedriveMethod | 'auto',
      timeoutMs,
    });
    process.stdout.write(
      `\nredriven: ${result.moved} message(s) back to the ingest queue (${result.method}, ${result.status})\n`,
    );
    process.stdout.write('They load through the normal path; check with: npm run reconcile\n');
    return 0;
  } finally {
    target.close();
    await wh.close();
  }
}

run('redrive', USAGE, main);
