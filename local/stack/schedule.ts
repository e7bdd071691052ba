/**
 * Runs the schedules declared in serverless.yml in-process, on their cron, so the local stack
 * behaves like EventBridge in AWS. Only `${param:...}` references are resolved (from the stage's
 * params, then `default`): the same values `osls` would use for that stage.
 * AWS cron: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */
import fs from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';
import { parse } from 'yaml';
import { awsCronToPattern, rateToMs } from '../../shared/delivery/cron';

export interface ScheduledFunction {
  functionName: string;
  handler: string;
  expression: string;
  /** The event's `input` in serverless.yml: EventBridge sends it instead of the scheduled-event envelope. */
  input?: unknown;
}

interface ServerlessYaml {
  params?: Record<string, Record<string, unknown>>;
  functions?: Record<
    string,
    { handler: string; events?: { schedule?: string | { rate: string | string[]; input?: unknown } }[] }
  >;
}

export function readSchedules(stage: string, file = path.join(__dirname, '..', '..', 'serverless.yml')): ScheduledFunction[] {
  // CloudFormation tags (!GetAtt, !Ref, ...) are irrelevant here and read as plain values
  const doc = parse(fs.readFileSync(file, 'utf8'), { logLevel: 'error' }) as ServerlessYaml;
  const params = { ...(doc.params?.default ?? {}), ...(doc.params?.[stage] ?? {}) };
  const resolve = (value: string) =>
    value.replace(/\$\{param:([A-Za-z0-9_-]+)\}/g, (_m, name: string) => {
      if (!(name in params)) throw new Error(`serverless.yml: \${param:${name}} has no value for stage ${stage}`);
      return String(params[name]);
    });
  const out: ScheduledFunction[] = [];
  for (const [functionName, fn] of Object.entries(doc.functions ?? {})) {
    for (const event of fn.events ?? []) {
      if (!event.schedule) continue;
      const rates = typeof event.schedule === 'string' ? [event.schedule] : [event.schedule.rate].flat();
      const input = typeof event.schedule === 'string' ? undefined : event.schedule.input;
      for (const rate of rates) out.push({ functionName, handler: fn.handler, expression: resolve(rate), input });
    }
  }
  return out;
}

export { awsCronToPattern, rateToMs } from '../../shared/delivery/cron';

export interface RunningSchedule {
  describe(): string;
  nextRun(): Date | null;
  /** Fire now, as the schedule would (the stack's tests and `runSchedule`); resolves when the run ends. */
  trigger(): Promise<void>;
  stop(): void;
}

export function schedule(expression: string, run: () => Promise<void>): RunningSchedule {
  if (expression.startsWith('rate(')) {
    const every = rateToMs(expression);
    let next = new Date(Date.now() + every);
    const timer = setInterval(() => {
      next = new Date(Date.now() + every);
      void run();
    }, every);
    timer.unref();
    return { describe: () => expression, nextRun: () => next, trigger: run, stop: () => clearInterval(timer) };
  }
  const job = new Cron(awsCronToPattern(expression), { timezone: 'UTC', protect: true, unref: true }, () => run());
  return { describe: () => expression, nextRun: () => job.nextRun(), trigger: run, stop: () => job.stop() };
}
