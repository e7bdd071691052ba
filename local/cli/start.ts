/**
 * `npm start`: the embedded local stack in the foreground until Ctrl-C.
 * S3 API on 127.0.0.1:4566 (LOCAL_S3_PORT), SQS API on 127.0.0.1:9324 (LOCAL_SQS_PORT), the transfers
 * HTTP API on 127.0.0.1:4567 (LOCAL_API_PORT), STS on 127.0.0.1:4568 (LOCAL_STS_PORT), data under .local/.
 */
import '../env';
import path from 'node:path';
import { createLogger } from '../../shared/logger';
import { startStack } from '../stack';

const log = createLogger({ component: 'stack' });

async function main(): Promise<void> {
  const dir = path.resolve(process.env.LOCAL_DIR ?? '.local');
  const stack = await startStack({
    dir,
    s3Port: Number(process.env.LOCAL_S3_PORT ?? 4566),
    sqsPort: Number(process.env.LOCAL_SQS_PORT ?? 9324),
    warehousePort: Number(process.env.LOCAL_WAREHOUSE_PORT ?? 0),
    apiPort: Number(process.env.LOCAL_API_PORT ?? 4567),
    stsPort: Number(process.env.LOCAL_STS_PORT ?? 4568),
    schedules: true,
    log,
  });
  log.info('local stack up', {
    s3: stack.s3.endpoint,
    buckets: 'landing,exports',
    sqs: stack.queues.endpoint,
    api: `${stack.api.url} (token in ${path.join(dir, 'stack.json')})`,
    sts: stack.sts.endpoint,
    warehouse:
      stack.config.warehouse.engine === 'duckdb'
        ? stack.config.warehouse.path
        : stack.config.warehouse.engine,
  });
  // the queue is in memory: pick up what a previous run left unloaded (the ledger keeps it exactly once)
  try {
    const { requeued, failed } = await stack.catchUp();
    if (requeued > 0)
      log.info('catch-up: re-queued objects of the landing bucket never loaded', { objects: requeued });
    if (failed > 0)
      log.warn('landing holds files that failed to load; see npm run reconcile', { files: failed });
  } catch (err) {
    log.warn('catch-up skipped; run npm run reconcile -- --fix', { error: (err as Error).message });
  }
  for (const s of stack.schedules)
    log.info('schedule', { expression: s.describe(), next: s.nextRun()?.toISOString() });
  log.info(
    'drop files with: npm run upload -- DIR   query with: npm run query -- "select ..."   stop with Ctrl-C',
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    stack
      .stop()
      .then(() => process.exit(0))
      .catch((err: Error) => {
        log.error('stop failed', { error: err.message });
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: Error) => {
  log.error('local stack failed to start', { error: err.message });
  process.exit(1);
});
