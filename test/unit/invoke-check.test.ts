/**
 * .ci/lib/invoke-check.ts, the rehearsal's stand-in for `sls invoke`: an invocation osls would send more
 * than once is refused. osls's AWS client times a silent socket out after 120 s (AWS_CLIENT_TIMEOUT, ms)
 * and retries 4 times (SLS_AWS_REQUEST_MAX_RETRIES), each retry a new Invoke (node_modules/osls/lib/aws/config.js).
 */
import { checkInvocation } from '../../.ci/lib/invoke-check';

const rebuild = { timeout: 900, maximumRetryAttempts: 0 };

describe('invoke-check', () => {
  it('refuses a plain synchronous invoke of a 15-minute function (the runbook before: 5 Invoke requests)', () => {
    const problems = checkInvocation(rebuild, 'rebuild', 'RequestResponse', '{}', {});
    expect(problems.join('\n')).toMatch(/AWS_CLIENT_TIMEOUT[\s\S]*SLS_AWS_REQUEST_MAX_RETRIES/);
  });

  it('accepts one long synchronous request, or an asynchronous invoke of a function without Lambda retries', () => {
    expect(
      checkInvocation(rebuild, 'rebuild', 'RequestResponse', '{}', {
        AWS_CLIENT_TIMEOUT: '960000',
        SLS_AWS_REQUEST_MAX_RETRIES: '0',
      }),
    ).toEqual([]);
    expect(checkInvocation(rebuild, 'rebuild', 'Event', '{}', {})).toEqual([]);
  });

  it("refuses an asynchronous invoke of a function with Lambda's retries, and an event its handler refuses", () => {
    expect(checkInvocation({ timeout: 900 }, 'rebuild', 'Event', '{}', {})).toEqual([
      expect.stringMatching(/up to three times/),
    ]);
    expect(checkInvocation(rebuild, 'transfer', 'Event', '{"destination_s3_bucket": "b"}', {})).toEqual([
      expect.stringMatching(/transfer would refuse this event: [\s\S]*source_table/),
    ]);
    expect(checkInvocation(undefined, 'nope', 'Event', '{}', {})).toEqual([
      'no function nope in serverless.yml',
    ]);
  });
});
