/**
 * Reaching the transfer function, the one function that reads destinations, keeps the run records
 * and writes into stakeholders' buckets:
 * - `call`: a synchronous invocation (the API's backend: submit, status), waiting for the answer;
 * - `start`: an asynchronous invocation (InvocationType Event) of a transfer: Lambda queues the
 *   event and answers 202 at once, and the run has the function's whole 15 minutes. The function
 *   runs an asynchronous event once (maximumRetryAttempts 0 in serverless.yml): a failure is
 *   recorded with the run, and a repeated request starts it again.
 *   https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
 *
 * On AWS through Lambda's API; the local stack registers an in-process stand-in (setTransferFunction)
 * that runs the same handler, in the background for `start`.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { config, type Config } from '../config';
import { TerminalError, TransientError } from '../errors';

export interface TransferFunction {
  call(event: Record<string, unknown>): Promise<unknown>;
  start(event: Record<string, unknown>): Promise<void>;
}

let override: TransferFunction | undefined;

export function setTransferFunction(fn: TransferFunction | undefined): void {
  override = fn;
}

export function transferFunction(cfg: Config = config()): TransferFunction {
  if (override) return override;
  if (cfg.stage === 'local') return inProcess();
  return lambdaTransferFunction(cfg.delivery.transferFunction, cfg.region);
}

/**
 * Without the local stack (`sls invoke local -f api`): the handler in this process; a start runs to
 * its end before it returns, since nothing would keep the process alive for it afterwards.
 */
function inProcess(): TransferFunction {
  const handle = async (event: Record<string, unknown>) => {
    // loaded here: the handler imports this module
    const { handleTransferEvent } = await import('./handler');
    return handleTransferEvent(event, {});
  };
  return {
    call: handle,
    start: async (event) => {
      await handle(event).catch(() => undefined); // the run records its own failure
    },
  };
}

export function lambdaTransferFunction(functionName: string, region: string, client?: LambdaClient): TransferFunction {
  // one attempt for a call: a submit without a run id would be a second run; well under the API's 30 s
  const callClient = client ?? new LambdaClient({ region, maxAttempts: 1, requestHandler: { connectionTimeout: 5000, socketTimeout: 25_000 } });
  const startClient = client ?? new LambdaClient({ region, maxAttempts: 3 });
  return {
    call: async (event) => {
      const res = await callClient.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(event)) }),
      );
      const text = res.Payload ? Buffer.from(res.Payload).toString('utf8') : '';
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      if (res.FunctionError) {
        const b = (body ?? {}) as { errorType?: string; errorMessage?: string };
        throw new TransientError(`${functionName} failed (${res.FunctionError}): ${b.errorType ?? ''}: ${b.errorMessage ?? text}`);
      }
      return body;
    },
    start: async (event) => {
      const res = await startClient.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }),
      );
      // an asynchronous invocation is accepted with 202 https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
      if (res.StatusCode !== 202) throw new TerminalError(`${functionName} did not accept the run (status ${res.StatusCode})`);
    },
  };
}
