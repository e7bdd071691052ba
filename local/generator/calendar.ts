/**
 * Calendar arithmetic on naive UTC dates (`YYYY-MM-DD`), the only kind the sample data uses.
 * Dates are carried as UTC-midnight `Date`s so no local time zone or DST can shift a day.
 */
import { InvalidInputError } from '../../shared/errors';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Parse `YYYY-MM-DD` strictly: 2019-02-30 is an error, not 2019-03-02. */
export function parseIsoDate(text: string, what = 'date'): Date {
  const m = ISO_DATE.exec(text);
  if (!m) throw new InvalidInputError(`${what} must be YYYY-MM-DD, got ${JSON.stringify(text)}`);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw new InvalidInputError(`${what} ${text} is not a calendar date`);
  }
  return date;
}

export function formatIsoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * The same day of the month `months` months earlier (or later, if positive), clamped to the last day
 * of the target month: 2020-03-31 minus 1 month is 2020-02-29.
 */
export function addMonthsClamped(date: Date, months: number): Date {
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(date.getUTCDate(), lastDay)));
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

/** Whole days from `start` to `end` (0 when equal). */
export function daysBetween(start: Date, end: Date): number {
  return Math.round((end.getTime() - start.getTime()) / DAY_MS);
}

/** Yesterday in UTC: the default last day of generated data (complete, and never in the future). */
export function yesterdayUtc(now: Date = new Date()): string {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return formatIsoDate(new Date(today - DAY_MS));
}
