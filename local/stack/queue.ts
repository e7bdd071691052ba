/**
 * The local queue: `local-aws-sqs`, a real SQS API (JSON and Query protocols) on loopback, so the
 * local stack, the ops scripts and tests speak the same SQS API as AWS. The ingest queue has a DLQ
 * through a RedrivePolicy, exactly as serverless.yml declares it in AWS.
 *
 * It keeps messages in memory: a restart loses what was in flight, which the file ledger and
 * `npm run reconcile` recover (the objects are still in the bucket).
 *
 * The server is local-aws-sqs's request handler in our own http server: its handler rejects on
 * some malformed requests (a JSON-protocol body of `null`), and an unhandled rejection would end
 * the process, so the stack with it. Here such a request gets a 400 and the server goes on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createRequestHandler } from 'local-aws-sqs';

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
  const server = await startSqsServer(opts.port, opts.region);
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

async function startSqsServer(port: number, region: string): Promise<http.Server> {
  const { requestHandler, service } = createRequestHandler({ port, hostname: '127.0.0.1', region });
  const server = http.createServer((req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    requestHandler(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      // the shape of an SQS JSON-protocol error
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', connection: 'close' });
      res.end(JSON.stringify({ __type: 'com.amazon.coral.service#SerializationException', message: (err as Error).message ?? 'bad request' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // the handler builds queue URLs from the port it is told (createSqsServer does the same)
  service.PORT = (server.address() as AddressInfo).port;
  return server;
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
