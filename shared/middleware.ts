/**
 * Middy middleware shared by the functions: one readable log line per function run (start is
 * debug, the end line carries the duration and the outcome), and errors logged once with their
 * classification before Lambda sees them.
 */
import type middy from '@middy/core';
import { classifyError } from './errors';
import type { Logger } from './logger';

export function invocationLog<E, R>(log: Logger): middy.MiddlewareObj<E, R> {
  const started = new WeakMap<object, number>();
  return {
    before: (request) => {
      started.set(request, Date.now());
      log.debug('start', { requestId: (request.context as { awsRequestId?: string } | undefined)?.awsRequestId });
    },
    after: (request) => {
      log.info('run', { ok: true, durationMs: Date.now() - (started.get(request) ?? Date.now()) });
    },
    onError: (request) => {
      const error = classifyError(request.error);
      log.error('run', {
        ok: false,
        durationMs: Date.now() - (started.get(request) ?? Date.now()),
        error: error.message,
        retryable: error.retryable,
      });
    },
  };
}
