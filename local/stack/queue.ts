/**
 * The local queue: `local-aws-sqs`, a real SQS API (JSON and Query protocols) on loopback, so the
 * local stack, the ops scripts and tests speak the same SQS API as AWS. The ingest queue has a DLQ
 * through a RedrivePolicy, exactly as serverless.yml declares it in AWS.
 *
 * It keeps messages in memory: a restart loses what was in flight, which the file ledger and
 * `npm run reconcile` recover (the objects are still in the bucket).
 */
import type { AddressInfo } from 'node:net';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';

export interface LocalQueues {
  endpoint: string;
  client: SQSClient;
  queueUrl: string;
  dlqUrl: string;
  close(): Promise<void>;
}

export function createSqsClient(endpoint: string, region: string): SQSClient {
  return new SQSClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export async function startLocalQueues(opts: {
  port: number;
  region: string;
  queueName: string;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
}): Promise<LocalQueues> {
  const server = await createSqsServer({ port: opts.port, hostname: '127.0.0.1', region: opts.region });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createSqsClient(endpoint, opts.region);
  const dlq = await client.send(
    new CreateQueueCommand({ QueueName: `${opts.queueName}-dlq`, Attributes: { MessageRetentionPeriod: '1209600' } }),
  );
  const dlqArn = (
    await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: opts.queueName,
      Attributes: {
        VisibilityTimeout: String(opts.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.maxReceiveCount }),
      },
    }),
  );
  return {
    endpoint,
    client,
    queueUrl: queue.QueueUrl as string,
    dlqUrl: dlq.QueueUrl as string,
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export async function queueDepth(client: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const res = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(res.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}
