/**
 * A run's status from its record and its latest claim; the schedules' slots and run ids; the run id
 * an Idempotency-Key maps to.
 */
import { awsCronToPattern, cronProblem, latestSlot } from '../../shared/delivery/cron';
import { scheduledRunId, slotStamp } from '../../shared/delivery/dispatch';
import { deriveStatus, type ClaimState, type RunRecord } from '../../shared/delivery/runs';
import { runIdForKey } from '../../shared/delivery/submit';

const at = (iso: string) => new Date(iso);
const NOW = at('2024-06-03T06:10:00Z');

function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: 'r1',
    requestKey: 'transfer:s3://b/p/T/r1',
    fingerprint: 'f',
    destination: 'acme',
    sourceTable: 'T',
    bucket: 'acme-drop',
    origin: 'api',
    requestedBy: 'arn:aws:iam::1:user/u',
    request: {},
    acceptedAt: at('2024-06-03T06:00:00Z'),
    dispatchedAt: at('2024-06-03T06:00:00Z'),
    error: null,
    errorAt: null,
    ...over,
  };
}

function claim(over: Partial<ClaimState> = {}): ClaimState {
  return {
    status: 'running',
    startedAt: at('2024-06-03T06:00:01Z'),
    finishedAt: null,
    leaseUntil: at('2024-06-03T06:12:00Z'),
    result: null,
    error: null,
    ...over,
  };
}

describe('deriveStatus', () => {
  it('queued until an attempt claims, running while its lease holds', () => {
    expect(deriveStatus(run(), undefined, NOW)).toMatchObject({ status: 'queued', run_id: 'r1', destination: 'acme', origin: 'api' });
    expect(deriveStatus(run(), claim(), NOW)).toMatchObject({ status: 'running', started_at: '2024-06-03T06:00:01.000Z' });
  });

  it('succeeded carries exactly the stored result', () => {
    const result = { file_name: 'p/T/r1/_manifest.json', row_count: 240, timestamp: '2024-06-03T06:01:00.000Z', run_id: 'r1' };
    const s = deriveStatus(run(), claim({ status: 'succeeded', result: JSON.stringify(result), finishedAt: at('2024-06-03T06:01:00Z') }), NOW);
    expect(s.status).toBe('succeeded');
    expect(s.result).toEqual(result);
  });

  it("failed with the attempt's error; a dispatch after it is a retry not started yet", () => {
    const failed = claim({ status: 'failed', error: 'table T does not exist', finishedAt: at('2024-06-03T06:00:05Z') });
    expect(deriveStatus(run(), failed, NOW)).toMatchObject({ status: 'failed', error: 'table T does not exist' });
    expect(deriveStatus(run({ dispatchedAt: at('2024-06-03T06:05:00Z') }), failed, NOW).status).toBe('queued');
  });

  it('failed when the holder stopped renewing (it died), and when the start failed before any claim', () => {
    expect(deriveStatus(run(), claim({ leaseUntil: at('2024-06-03T06:09:00Z') }), NOW)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/stopped renewing its claim/),
    });
    const refused = run({ error: 'S3 refused acme-drop (403)', errorAt: at('2024-06-03T06:00:02Z') });
    expect(deriveStatus(refused, undefined, NOW)).toMatchObject({ status: 'failed', error: 'S3 refused acme-drop (403)' });
    // an older start error does not hide a newer attempt
    expect(deriveStatus(run({ error: 'old', errorAt: at('2024-06-03T05:00:00Z') }), claim(), NOW).status).toBe('running');
  });
});

describe('schedules', () => {
  it('the latest slot within the look-back, none when it is older', () => {
    // Mondays 06:00 UTC; 2024-06-03 is a Monday
    expect(latestSlot('cron(0 6 ? * MON *)', at('2024-06-03T06:10:00Z'), 3600_000)).toEqual(at('2024-06-03T06:00:00Z'));
    expect(latestSlot('cron(0 6 ? * MON *)', at('2024-06-03T06:00:00Z'), 3600_000)).toEqual(at('2024-06-03T06:00:00Z'));
    expect(latestSlot('cron(0 6 ? * MON *)', at('2024-06-03T07:00:01Z'), 3600_000)).toBeUndefined();
    expect(latestSlot('cron(0 6 ? * MON *)', at('2024-06-03T05:59:59Z'), 3600_000)).toBeUndefined();
    // EventBridge numbers weekdays from Sunday = 1: 2 is Monday
    expect(latestSlot('cron(0 6 ? * 2 *)', at('2024-06-03T06:10:00Z'), 3600_000)).toEqual(at('2024-06-03T06:00:00Z'));
    // every 15 minutes: the latest of four slots in the hour
    expect(latestSlot('cron(0/15 * * * ? *)', at('2024-06-03T06:44:00Z'), 3600_000)).toEqual(at('2024-06-03T06:30:00Z'));
    // the first of the month
    expect(latestSlot('cron(30 2 1 * ? *)', at('2024-07-01T02:45:00Z'), 3600_000)).toEqual(at('2024-07-01T02:30:00Z'));
  });

  it("reads EventBridge's own forms: a/b steps, weekdays numbered from Sunday, #n, L", () => {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
    expect(awsCronToPattern('cron(0/15 * * * ? *)')).toBe('0-59/15 * * * *');
    expect(awsCronToPattern('cron(0 6 ? * 2-6 *)')).toBe('0 6 * * MON-FRI');
    expect(awsCronToPattern('cron(0 6 ? * 2#1 *)')).toBe('0 6 * * MON#1');
    expect(awsCronToPattern('cron(0 6 ? * 1/2 *)')).toBe('0 6 * * SUN-SAT/2');
    expect(awsCronToPattern('cron(0 6 L * ? *)')).toBe('0 6 L * *');
    // the first Monday of July 2024 is the 1st
    expect(latestSlot('cron(0 6 ? * 2#1 *)', at('2024-07-01T06:30:00Z'), 3600_000)).toEqual(at('2024-07-01T06:00:00Z'));
  });

  it('accepts what EventBridge accepts and names the rest', () => {
    expect(cronProblem('cron(0 6 ? * MON *)')).toBeUndefined();
    expect(cronProblem('cron(0 6 1 * ? *)')).toBeUndefined();
    expect(cronProblem('cron(0 6 1 * MON *)')).toMatch(/exactly one of day-of-month and day-of-week/);
    expect(cronProblem('cron(0 6 ? * ? *)')).toMatch(/exactly one of day-of-month and day-of-week/);
    expect(cronProblem('cron(0 25 ? * MON *)')).toMatch(/not a valid cron/);
  });

  it("a slot's run id names the destination and the slot to the minute", () => {
    expect(slotStamp(at('2024-06-03T06:00:00.000Z'))).toBe('20240603T0600Z');
    expect(scheduledRunId('acme', at('2024-06-03T06:00:00Z'))).toBe('sched-acme-20240603T0600Z');
    expect(scheduledRunId('a'.repeat(63), at('2024-06-03T06:00:00Z'))).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/);
  });
});

describe('Idempotency-Key', () => {
  it('maps to one run id per caller and key', () => {
    const id = runIdForKey('order-42', 'arn:aws:iam::1:role/a');
    expect(id).toMatch(/^k-[0-9a-f]{40}$/);
    expect(runIdForKey('order-42', 'arn:aws:iam::1:role/a')).toBe(id);
    expect(runIdForKey('order-42', 'arn:aws:iam::1:role/b')).not.toBe(id);
    expect(runIdForKey('order-43', 'arn:aws:iam::1:role/a')).not.toBe(id);
  });
});
