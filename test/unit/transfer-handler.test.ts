/**
 * The transfer Lambda handler is wiring only: it validates the event, calls the library with the
 * request as given and returns its result; bad events fail before the library is called.
 */
import { InvalidInputError } from '../../shared/errors';

const transferData = jest.fn();
jest.mock('../../shared/transfer', () => ({
  ...jest.requireActual('../../shared/transfer'),
  transferData: (...args: unknown[]) => transferData(...args),
}));

// imported after the mock is registered
import { handler } from '../../functions/transfer';

const context = { awsRequestId: 'req-1' } as never;

beforeEach(() => {
  transferData.mockReset();
});

describe('transfer handler', () => {
  it('passes the validated request as given (a destination may fix format and prefix) to the library and returns its result', async () => {
    // Prepare
    const result = {
      file_name: 'transfer/T/r/_manifest.json',
      row_count: 3,
      timestamp: '2024-01-01T00:00:00.000Z',
    };
    transferData.mockResolvedValue(result);

    // Act
    const out = await handler({ source_table: 'ORDERS_100K', destination_s3_bucket: 'exports' }, context);

    // Assess
    expect(out).toBe(result);
    expect(transferData).toHaveBeenCalledTimes(1);
    expect(transferData.mock.calls[0][0]).toEqual({
      source_table: 'ORDERS_100K',
      destination_s3_bucket: 'exports',
    });
    expect(transferData.mock.calls[0][1]).toMatchObject({ origin: 'invoke' });
  });

  it('accepts the event as a JSON string (sls invoke local -d)', async () => {
    transferData.mockResolvedValue({});
    await handler('{"source_table":"T","destination_s3_bucket":"exports"}', context);
    expect(transferData.mock.calls[0][0]).toMatchObject({ source_table: 'T' });
  });

  it.each([
    undefined,
    {},
    { source_table: 'T' },
    { source_table: 'T', destination_s3_bucket: 'exports', x: 1 },
  ])('rejects %j before calling the library', async (event) => {
    await expect(handler(event, context)).rejects.toBeInstanceOf(InvalidInputError);
    expect(transferData).not.toHaveBeenCalled();
  });
});
