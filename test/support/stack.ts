/**
 * The local stack for one test file: started on free ports in a scratch directory before the tests
 * (with `env` set first, for the settings the stack reads from the environment), stopped and removed
 * after, the environment restored. Read `stack` and `s3` inside the tests.
 */
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { startStack, type Stack, type StackOptions } from '../../local/stack';
import { createS3Client } from '../../shared/storage/object-store';
import { scratchDir } from './factories';

export function useLocalStack(options: Omit<StackOptions, 'dir' | 's3Port' | 'sqsPort'> & { env?: Record<string, string> } = {}) {
  const { env, ...stackOptions } = options;
  const ctx = {} as { stack: Stack; s3: S3Client };
  let scratch: ReturnType<typeof scratchDir> | undefined;
  const saved = { ...process.env };
  beforeAll(async () => {
    scratch = scratchDir();
    Object.assign(process.env, env);
    ctx.stack = await startStack({ dir: path.join(scratch.dir, 'stack'), s3Port: 0, sqsPort: 0, ...stackOptions });
    ctx.s3 = createS3Client(ctx.stack.config);
  });
  afterAll(async () => {
    ctx.s3?.destroy();
    await ctx.stack?.stop();
    process.env = saved;
    scratch?.remove();
  });
  return ctx;
}
