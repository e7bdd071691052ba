/**
 * EventBridge schedule expressions, as serverless.yml and the destinations use them, evaluated in
 * process (croner) for the local stack's scheduler and for the delivery dispatcher.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 *
 * `cron(minutes hours day-of-month month day-of-week year)`, UTC. EventBridge numbers weekdays 1-7
 * from Sunday, and one of day-of-month and day-of-week must be `?` ("you can't specify both").
 */
import { Cron } from 'croner';

const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const MAX = [59, 23, 31, 12, 7];

/**
 * One field of an AWS cron in croner's syntax: `a/b` (from a, every b: EventBridge's own example is
 * `0/15`) becomes `a-max/b`, which croner reads; weekday numbers (1-7 from Sunday) become names, only
 * where they are weekdays (not a step, not the n of `#n`).
 */
function field(value: string, index: number): string {
  return value
    .split(',')
    .map((item) => {
      const [first, step] = item.split('/') as [string, string | undefined];
      let head = step !== undefined && /^\d+$/.test(first) ? `${first}-${MAX[index]}` : first;
      if (index === 4) head = head.replace(/^(\d)|(?<=-)(\d)/g, (d) => DAYS[Number(d) - 1] ?? d);
      return step === undefined ? head : `${head}/${step}`;
    })
    .join(',');
}

/** AWS `cron(m h dom mon dow year)` -> a 5-field cron pattern (the year field is dropped). */
export function awsCronToPattern(expression: string): string {
  const m = /^cron\((.+)\)$/.exec(expression.trim());
  if (!m) throw new Error(`not an AWS cron expression: ${expression}`);
  const fields = (m[1] as string).trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`AWS cron needs 6 fields (minutes hours day-of-month month day-of-week year): ${expression}`);
  return fields
    .slice(0, 5)
    .map((f, i) => field(f === '?' ? '*' : f, i))
    .join(' ');
}

/**
 * Check a destination's schedule as EventBridge would accept it, plus what the dispatcher supports:
 * the year field only as `*`. Returns the reason it is refused, or undefined.
 */
export function cronProblem(expression: string): string | undefined {
  const m = /^cron\((.+)\)$/.exec(expression.trim());
  if (!m) return 'must be an EventBridge cron expression: cron(minutes hours day-of-month month day-of-week year)';
  const fields = (m[1] as string).trim().split(/\s+/);
  if (fields.length !== 6) return 'needs 6 fields: minutes hours day-of-month month day-of-week year';
  const [, , dom, , dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?'))
    return 'exactly one of day-of-month and day-of-week must be ? (EventBridge cannot take both)';
  if (year !== '*') return 'the year field must be * (a delivery schedule repeats every year)';
  try {
    new Cron(awsCronToPattern(expression), { timezone: 'UTC' });
  } catch (err) {
    return `is not a valid cron: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * The latest time the schedule fired in (now - lookbackMs, now], or undefined. The dispatcher runs
 * every few minutes and starts the latest slot it has not started yet; older slots are not caught up.
 */
export function latestSlot(expression: string, now: Date, lookbackMs: number): Date | undefined {
  const cron = new Cron(awsCronToPattern(expression), { timezone: 'UTC' });
  let last: Date | undefined;
  // croner's nextRun(t) is strictly after t; start just before the window so a slot on its edge counts
  let next = cron.nextRun(new Date(now.getTime() - lookbackMs));
  for (let i = 0; next && next.getTime() <= now.getTime() && i < 100_000; i++) {
    last = next;
    next = cron.nextRun(next);
  }
  return last;
}

/** `rate(7 days)` -> milliseconds. */
export function rateToMs(expression: string): number {
  const m = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!m) throw new Error(`not an AWS rate expression: ${expression}`);
  const unit = { minute: 60e3, hour: 3600e3, day: 86400e3 }[(m[2] as string).replace(/s$/, '') as 'minute' | 'hour' | 'day'];
  return Number(m[1]) * unit;
}
