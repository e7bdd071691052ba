/**
 * The runbook rehearsal's stand-in for `npx sls invoke --stage S -f NAME [--type T] -d JSON`
 * (docs/DEPLOY.md): everything about the invocation that can be checked without AWS.
 *
 * - the function exists in serverless.yml for that stage (as osls resolves it, offline);
 * - the payload is JSON its handler accepts (the handler's own event parser);
 * - the invocation cannot be sent twice: an asynchronous one (`--type Event`) needs the function to have
 *   no Lambda retries (`maximumRetryAttempts: 0`); a synchronous one that may run longer than osls's
 *   120 s socket timeout needs AWS_CLIENT_TIMEOUT above the function's timeout and
 *   SLS_AWS_REQUEST_MAX_RETRIES=0, or osls sends the Invoke again (node_modules/osls/lib/aws/config.js).
 *
 * Exits 0 when the invocation would be sound, 1 with the reason otherwise.
 */
import { parseArgs } from 'node:util';
import { parseMigrateEvent } from '../../functions/migrate';
import { parseRebuildEvent } from '../../functions/rebuild';
import { parseTransferRequest } from '../../shared/transfer/request';
import { printService } from './sls-package';

const PARSERS: Record<string, (event: unknown) => unknown> = {
  rebuild: parseRebuildEvent,
  transfer: parseTransferRequest,
  migrate: parseMigrateEvent,
};

/** osls's default socket timeout (ms) when AWS_CLIENT_TIMEOUT is unset. */
const OSLS_SOCKET_TIMEOUT_MS = 120_000;

export function checkInvocation(
  fn: { timeout?: number; maximumRetryAttempts?: number } | undefined,
  name: string,
  type: string,
  data: string,
  env: NodeJS.ProcessEnv,
): string[] {
  const problems: string[] = [];
  if (!fn) return [`no function ${name} in serverless.yml`];
  if (!['RequestResponse', 'Event', 'DryRun'].includes(type))
    problems.push(`--type ${type} is not RequestResponse, Event or DryRun`);
  let event: unknown;
  try {
    event = JSON.parse(data);
  } catch {
    return [...problems, `-d is not JSON: ${data}`];
  }
  const parse = PARSERS[name];
  if (parse) {
    try {
      parse(event);
    } catch (err) {
      problems.push(`${name} would refuse this event: ${(err as Error).message}`);
    }
  }
  const timeoutMs = (fn.timeout ?? 6) * 1000;
  if (type === 'Event' && fn.maximumRetryAttempts !== 0) {
    problems.push(
      `${name} has Lambda's asynchronous retries (maximumRetryAttempts is not 0): an Event may run up to three times`,
    );
  }
  if (type === 'RequestResponse' && timeoutMs > OSLS_SOCKET_TIMEOUT_MS) {
    const socket = Number(env.AWS_CLIENT_TIMEOUT ?? OSLS_SOCKET_TIMEOUT_MS);
    if (!(socket > timeoutMs)) {
      problems.push(
        `${name} may run ${timeoutMs / 1000} s but osls's socket times out after ${socket / 1000} s: set AWS_CLIENT_TIMEOUT above ${timeoutMs} or use --type Event`,
      );
    }
    if (env.SLS_AWS_REQUEST_MAX_RETRIES !== '0') {
      problems.push(
        `a synchronous invoke of ${name} may be retried by osls (SLS_AWS_REQUEST_MAX_RETRIES is not 0): each retry is another run`,
      );
    }
  }
  return problems;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string', default: 'dev' },
      function: { type: 'string', short: 'f' },
      data: { type: 'string', short: 'd', default: '{}' },
      type: { type: 'string', default: 'RequestResponse' },
    },
  });
  if (!values.function) throw new Error('-f NAME is required');
  const service = (await printService({ stage: values.stage })) as {
    functions: Record<string, { timeout?: number; maximumRetryAttempts?: number }>;
  };
  const problems = checkInvocation(
    service.functions[values.function],
    values.function,
    values.type,
    values.data,
    process.env,
  );
  if (problems.length > 0) {
    process.stderr.write(
      `sls invoke -f ${values.function} would not be sound:\n  ${problems.join('\n  ')}\n`,
    );
    return 1;
  }
  process.stdout.write(
    `sls invoke --stage ${values.stage} -f ${values.function} --type ${values.type}: checked\n`,
  );
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`invoke-check failed: ${(err as Error).message}\n`);
      process.exit(2);
    },
  );
}
