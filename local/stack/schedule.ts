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

export interface ScheduledFunction {
  functionName: string;
  handler: string;
  expression: string;
}

interface ServerlessYaml {
  params?: Record<string, Record<string, unknown>>;
  functions?: Record<string, { handler: string; events?: { schedule?: string | { rate: string | string[] } }[] }>;
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
      for (const rate of rates) out.push({ functionName, handler: fn.handler, expression: resolve(rate) });
    }
  }
  return out;
}

const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** AWS `cron(m h dom mon dow year)` -> a 5-field cron pattern; AWS numbers weekdays 1-7 from Sunday. */
export function awsCronToPattern(expression: string): string {
  const m = /^cron\((.+)\)$/.exec(expression.trim());
  if (!m) throw new Error(`not an AWS cron expression: ${expression}`);
  const fields = (m[1] as string).trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`AWS cron needs 6 fields (minutes hours day-of-month month day-of-week year): ${expression}`);
  const [min, hour, dom, mon, dow] = fields as [string, string, string, string, string];
  const weekday = dow.replace(/\d/g, (d) => DAYS[Number(d) - 1] ?? d);
  return [min, hour, dom.replace('?', '*'), mon, weekday.replace('?', '*')].join(' ');
}

/** `rate(7 days)` -> milliseconds. */
export function rateToMs(expression: string): number {
  const m = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!m) throw new Error(`not an AWS rate expression: ${expression}`);
  const unit = { minute: 60e3, hour: 3600e3, day: 86400e3 }[(m[2] as string).replace(/s$/, '') as 'minute' | 'hour' | 'day'];
  return Number(m[1]) * unit;
}

export interface RunningSchedule {
  describe(): string;
  nextRun(): Date | null;
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
    return { describe: () => expression, nextRun: () => next, stop: () => clearInterval(timer) };
  }
  const job = new Cron(awsCronToPattern(expression), { timezone: 'UTC', protect: true, unref: true }, () => run());
  return { describe: () => expression, nextRun: () => job.nextRun(), stop: () => job.stop() };
}
