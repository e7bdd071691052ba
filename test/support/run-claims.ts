/**
 * Run claims on the fake Snowflake (which runs no SQL): the holder's renewals and settlements
 * update its one claim row, as they would on the service. Without this script the fake answers
 * every UPDATE with 0 rows, which a holder correctly reads as "my claim was taken over".
 */
import type { FakeSnowflake } from './fake-snowflake';

export function scriptRunClaims(fake: FakeSnowflake): void {
  fake.reply(/^update analytics\.run_claims set /i, { updated: 1, kind: 'update' });
}
