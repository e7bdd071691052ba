/**
 * classifyError on the errors snowflake-sdk produces: one mapping to transient (retry) and terminal.
 */
import { classifyError, TerminalError, TransientError } from '../../shared/errors';

/** Shaped as snowflake-sdk's lib/errors.js createError builds them. */
function driverError(name: string, code: string | number, message: string, sqlState?: string): Error {
  return Object.assign(new Error(message), { name, code, ...(sqlState ? { sqlState } : {}) });
}

describe('classifyError on Snowflake errors', () => {
  it.each([
    ['network failure', driverError('NetworkError', 401001, 'Network error. Could not reach Snowflake.')],
    ['5xx from the service', driverError('RequestFailedError', 401002, 'Request to Snowflake failed.')],
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
  ])('%s is terminal', (_what, err) => {
    const classified = classifyError(err);
    expect(classified).toBeInstanceOf(TerminalError);
    expect(classified.message).toBe(err.message);
  });
});
