/**
 * Where the ops commands act, for one stage: the landing bucket, the ingest queue and its
 * dead-letter queue, and the clients to reach them.
 *
 *   local     the running stack, as `npm start` describes it in <LOCAL_DIR>/stack.json; a clear
 *             error when it is not running (the queues live in its process);
 *   dev/prod  the configuration (LANDING_BUCKET, INGEST_QUEUE_URL, INGEST_DLQ_URL). The bucket names
 *             carry the account and region (serverless.yml), so they come from the stack's outputs
 *             (docs/DEPLOY.md exports them); the queue URLs fall back to GetQueueUrl on the names
 *             serverless.yml derives from `shopping-patterns-<stage>`. Credentials come from the usual
 *             AWS chain.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { config, type Config } from '../config';
import { ConfigError } from '../errors';
import { createS3Client } from '../storage/object-store';
import { runningStack } from '../warehouse/remote';
import { bucketIsVersioned } from './landing';
import type { SequencerStyle } from './replay';

export const SERVICE = 'shopping-patterns';

export interface OpsTarget {
  stage: Config['stage'];
  region: string;
  bucket: string;
  queueUrl: string;
  dlqUrl: string;
  s3: S3Client;
  sqs: SQSClient;
  /** List object versions? (AWS buckets are versioned; the local S3 server is not.) Asked once, lazily. */
  versioned(): Promise<boolean>;
  sequencerStyle: SequencerStyle;
  close(): void;
}

/** Resolve the target of the current configuration's stage. */
export async function resolveTarget(cfg: Config = config()): Promise<OpsTarget> {
  if (cfg.stage === 'local') {
    const stack = runningStack(cfg.localDir);
    if (!stack) {
      throw new ConfigError(
        `the local stack is not running (no live ${cfg.localDir}/stack.json): start it with npm start`,
      );
    }
    const s3 = createS3Client({ ...cfg, s3Endpoint: stack.s3Endpoint });
    const sqs = new SQSClient({
      endpoint: stack.sqsEndpoint,
      region: cfg.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    return {
      stage: cfg.stage,
      region: cfg.region,
      bucket: cfg.buckets.landing,
      queueUrl: stack.queueUrl,
      dlqUrl: stack.dlqUrl,
      s3,
      sqs,
      versioned: async () => false,
      sequencerStyle: 'local',
      close: () => {
        s3.destroy();
        sqs.destroy();
      },
    };
  }
  const s3 = createS3Client(cfg);
  const sqs = new SQSClient({ region: cfg.region, maxAttempts: 4 });
  const queueName = `${SERVICE}-${cfg.stage}-ingest`;
  const queueUrl = cfg.queue.url || (await queueUrlOf(sqs, queueName, 'INGEST_QUEUE_URL'));
  const dlqUrl = cfg.queue.dlqUrl || (await queueUrlOf(sqs, `${queueName}-dlq`, 'INGEST_DLQ_URL'));
  let versioned: Promise<boolean> | undefined;
  return {
    stage: cfg.stage,
    region: cfg.region,
    bucket: cfg.buckets.landing,
    queueUrl,
    dlqUrl,
    s3,
    sqs,
    versioned: () => (versioned ??= bucketIsVersioned(s3, cfg.buckets.landing)),
    sequencerStyle: 'aws',
    close: () => {
      s3.destroy();
      sqs.destroy();
    },
  };
}

async function queueUrlOf(sqs: SQSClient, name: string, variable: string): Promise<string> {
  try {
    const res = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (res.QueueUrl) return res.QueueUrl;
  } catch (err) {
    throw new ConfigError(`queue ${name} not found (${(err as Error).name}): set ${variable}`, {
      cause: err,
    });
  }
  throw new ConfigError(`queue ${name} has no URL: set ${variable}`);
}

/**
 * Select the stage. On AWS stages the bucket names are not guessed: the defaults carry the account and
 * region, which only the deployed stack knows (its outputs LandingBucketName, ExportsBucketName), so a
 * missing LANDING_BUCKET is named by the configuration's error. `buckets: false` is for commands that
 * touch no bucket (redrive): the configuration then gets a marker it never uses.
 */
export function applyStageDefaults(stage: string, env: NodeJS.ProcessEnv = process.env, opts: { buckets?: boolean } = {}): void {
  env.STAGE = stage;
  if (stage !== 'local' && opts.buckets === false) {
    env.LANDING_BUCKET ??= 'unused-by-this-command';
    env.EXPORTS_BUCKET ??= 'unused-by-this-command';
  }
}

export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const res = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = res.Attributes?.QueueArn;
  if (!arn) throw new ConfigError(`queue ${queueUrl} reported no QueueArn`);
  return arn;
}
