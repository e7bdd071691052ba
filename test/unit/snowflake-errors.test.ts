/**
 * classifyError on the errors snowflake-sdk produces: one mapping to transient (retry) and terminal.
 */
import { classifyError, TerminalError, TRANSIENT_SNOWFLAKE_CODES, TransientError } from '../../shared/errors';

/** The installed driver's own code table: the source of truth for its numeric codes. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const DRIVER_CODES = require('snowflake-sdk/dist/lib/error_code').default as Record<string | number, string | number>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const DRIVER_MESSAGES = require('snowflake-sdk/dist/lib/constants/error_messages') as Record<number, string>;

/** Shaped as snowflake-sdk's lib/errors.js createError builds them. */
function driverError(name: string, code: string | number, message: string, sqlState?: string): Error {
  return Object.assign(new Error(message), { name, code, ...(sqlState ? { sqlState } : {}) });
}

describe('classifyError on Snowflake errors', () => {
  it.each([
    ['network failure', driverError('NetworkError', 401001, 'Network error. Could not reach Snowflake.')],
    ['5xx from the service', Object.assign(driverError('RequestFailedError', 401002, 'Request to Snowflake failed.'), { response: { statusCode: 503 } })],
    ['429 from the service', Object.assign(driverError('RequestFailedError', 401002, 'Request to Snowflake failed.'), { response: { statusCode: 429 } })],
    ['an empty answer (non-JSON content)', driverError('UnexpectedContentError', 401003, 'Snowflake responded with non-JSON content.')],
    ['result chunk storage unreachable', driverError('NetworkError', 402001, 'Network error. Could not reach S3/Blob.')],
    ['request on a disconnected connection', driverError('ClientError', 407002, 'Unable to perform operation using terminated connection.')],
    ['session gone', driverError('OperationFailedError', '390111', 'Session no longer exists.  New login required to access the service.')],
    ['master token expired', driverError('OperationFailedError', '390114', 'Authentication token has expired.  The user must authenticate again.')],
    ['statement timeout', driverError('OperationFailedError', '000630', 'Statement reached its statement or warehouse timeout of 60 second(s) and was canceled.', '57014')],
    ['cancelled', driverError('OperationFailedError', '000604', 'SQL execution canceled', '57014')],
  ])('%s is transient', (_what, err) => {
    expect(classifyError(err)).toBeInstanceOf(TransientError);
  });

  it.each([
    ['a refused key pair', driverError('OperationFailedError', '390144', 'JWT token is invalid.')],
    ['a compilation error', driverError('OperationFailedError', '002003', "SQL compilation error:\nObject 'RAW.NOPE' does not exist or not authorized.", '02000')],
    ['a missing privilege', driverError('OperationFailedError', '003001', 'SQL access control error: Insufficient privileges to operate on table', '42501')],
    ['a bad value', driverError('OperationFailedError', '100038', "Numeric value 'abc' is not recognized", '22018')],
    // 403001 is the driver's "Invalid logLevel": a configuration error, never fixed by a retry
    ['an invalid log level', driverError('ClientError', 403001, DRIVER_MESSAGES[403001] ?? 'Invalid logLevel.')],
    ['a 403 from the service', Object.assign(driverError('RequestFailedError', 401002, 'Request to Snowflake failed.'), { response: { statusCode: 403 } })],
    ['a 404 from the service', Object.assign(driverError('RequestFailedError', 401002, 'Request to Snowflake failed.'), { response: { statusCode: 404 } })],
    // an unknown account URL: https://docs.snowflake.com/en/release-notes/bcr-bundles/un-bundled/bcr-1669
    ['a 513 from the service', Object.assign(driverError('RequestFailedError', 401002, 'Request to Snowflake failed.'), { response: { statusCode: 513 } })],
  ])('%s is terminal', (_what, err) => {
    const classified = classifyError(err);
    expect(classified).toBeInstanceOf(TerminalError);
    expect(classified.message).toBe(err.message);
  });
});

describe('the transient driver codes, against the installed driver', () => {
  it.each([...TRANSIENT_SNOWFLAKE_CODES])('%d is %s in snowflake-sdk', (code, name) => {
    expect(DRIVER_CODES[code]).toBe(name);
    expect(typeof DRIVER_MESSAGES[code]).toBe('string');
  });

  it('names no configuration or connection-option error (403xxx, 404xxx) transient', () => {
    expect(DRIVER_CODES[403001]).toBe('ERR_GLOBAL_CONFIGURE_INVALID_LOG_LEVEL');
    expect([...TRANSIENT_SNOWFLAKE_CODES.keys()].filter((c) => c >= 403000 && c < 405000)).toEqual([]);
  });
});
