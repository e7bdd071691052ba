import { parseRebuildEvent } from '../../functions/rebuild';
import { InvalidInputError } from '../../shared/errors';
import { newRunId } from '../../shared/rebuild';
import { loadEvent } from '../support/events';

describe('parseRebuildEvent', () => {
  it.each([[undefined], [null], [''], [{}]])('treats %j (sls invoke local without data) as a default run', (event) => {
    expect(parseRebuildEvent(event)).toEqual({ publish: undefined, pseudonymise: undefined, snapshotDate: undefined, runId: undefined });
  });

  it('takes the snapshot date from a scheduled event, so a retried invocation writes the same keys', () => {
    expect(parseRebuildEvent(loadEvent('schedule/weekly.json')).snapshotDate).toBe('2020-01-06');
  });

  it('accepts the manual options', () => {
    expect(parseRebuildEvent({ publish: false, pseudonymise: true, snapshot_date: '2024-06-03', run_id: 'rerun-1' })).toEqual({
      publish: false,
      pseudonymise: true,
      snapshotDate: '2024-06-03',
      runId: 'rerun-1',
    });
  });

  it.each([
    [{ snapshot_date: '2024-02-30' }, /snapshot_date/],
    [{ publish: 'yes' }, /publish/],
    [{ run_id: '../../etc' }, /run_id/],
    [42, /expected object/],
  ])('rejects %j naming the field', (event, message) => {
    expect(() => parseRebuildEvent(event)).toThrow(InvalidInputError);
    expect(() => parseRebuildEvent(event)).toThrow(message);
  });
});

describe('newRunId', () => {
  it('is sortable by time and unique per call', () => {
    const at = new Date('2024-06-03T06:00:01.234Z');
    expect(newRunId(at)).toMatch(/^rb-20240603T060001Z-[0-9a-f]{6}$/);
    expect(newRunId(at)).not.toBe(newRunId(at));
  });
});
