/**
 * npm run redrive -- [--peek] [--dry-run] [--method auto|move-task|manual] [--stage local|dev|prod]
 *
 * Shows what is in the ingest DLQ and why (from the file ledger), then moves the messages back to
 * the ingest queue (SQS StartMessageMoveTask). Fix the cause first: a redriven message that fails
 * again returns to the DLQ after maxReceiveCount receives.
 */
import '../env';
import { parseArgs } from 'node:util';
import { config } from '../../shared/config';
import {
  explainMessages,
  peekDlq,
  redrive,
  summariseReasons,
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

Exit code: 0 when the DLQ was empty or was redriven (or only looked at), 2 when it could not run.
`;

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
  const stage = selectStage(values.stage);
  const cfg = config();
  const target = await resolveTarget(cfg);
  const wh = warehouse();
  try {
    process.stderr.write(`DLQ ${target.dlqUrl} -> ${target.queueUrl} (stage ${stage})\n`);
    const messages = await peekDlq(target.sqs, target.dlqUrl, {
      max,
      waitTimeSeconds: stage === 'local' ? 0 : 1,
    });
    const explained = await explainMessages(wh, messages, cfg.routes);
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
