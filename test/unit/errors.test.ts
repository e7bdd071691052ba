import { classifyError, InvalidInputError, TerminalError, TransientError } from '../../shared/errors';

describe('classifyError: the one place retry decisions are made', () => {
  it.each([
    ['a reset socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['S3 throttling', Object.assign(new Error('slow down'), { name: 'SlowDown' })],
    ['an HTTP 503', Object.assign(new Error('unavailable'), { $metadata: { httpStatusCode: 503 } })],
    ['an HTTP 429', Object.assign(new Error('too many'), { response: { status: 429 } })],
    ['a Snowflake network error', Object.assign(new Error('Network error'), { code: 401001 })],
    ['a DuckDB file lock', new Error('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held')],
    ['a wrapped transient cause', new Error('outer', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) })],
  ])('%s is transient', (_what, err) => {
    const e = classifyError(err);
    expect(e).toBeInstanceOf(TransientError);
    expect(e.retryable).toBe(true);
  });

  it.each([
    ['a SQL error', new Error('Catalog Error: Table with name nope does not exist!')],
    ['an HTTP 403', Object.assign(new Error('denied'), { $metadata: { httpStatusCode: 403 } })],
    ['a string', 'boom'],
  ])('%s is terminal', (_what, err) => {
    const e = classifyError(err);
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.retryable).toBe(false);
  });

  it('passes classified errors through unchanged', () => {
    const original = new InvalidInputError('bad table');
    expect(classifyError(original)).toBe(original);
  });
});
