/**
 * A pending (Snowpipe) record comes back after a short delay, not the queue's whole visibility
 * timeout: the ingest handler sends ChangeMessageVisibility for it, on its own queue, with the
 * record's receipt handle. "ChangeMessageVisibility ... The new value for the message's visibility
 * timeout (in seconds)" https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
 */
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { delay } from '../../functions/ingest';
import { resetConfig } from '../../shared/config';

const sqs = mockClient(SQSClient);
const saved = { ...process.env };

afterEach(() => {
  process.env = { ...saved };
  resetConfig();
  sqs.reset();
});

it('makes the record visible again after the delay, on the ingest queue', async () => {
  process.env.INGEST_QUEUE_URL = 'https://sqs.eu-west-2.amazonaws.com/111122223333/shopping-patterns-dev-ingest';
  resetConfig();
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  await delay({ messageId: 'm1', receiptHandle: 'rh-1', body: '{}', attributes: { ApproximateReceiveCount: '1' } } as never, 60);
  const calls = sqs.commandCalls(ChangeMessageVisibilityCommand);
  expect(calls).toHaveLength(1);
  expect(calls[0]!.args[0].input).toEqual({
    QueueUrl: 'https://sqs.eu-west-2.amazonaws.com/111122223333/shopping-patterns-dev-ingest',
    ReceiptHandle: 'rh-1',
    VisibilityTimeout: 60,
  });
});

it('sends nothing without a queue URL (the record then waits the visibility timeout)', async () => {
  delete process.env.INGEST_QUEUE_URL;
  resetConfig();
  await delay({ messageId: 'm1', receiptHandle: 'rh-1', body: '{}' } as never, 60);
  expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
});
