/**
 * Split a stream of row batches, ordered by a key, into consecutive groups of batches, one group
 * per key, without buffering a group: each group is itself an async iterable that must be drained
 * before the next group is requested. A key that comes back after its group ended means the input
 * was not ordered, which is an error rather than a silently split partition.
 */
import { TerminalError } from '../errors';
import type { Row } from '../warehouse/port';

export interface KeyGroup {
  key: string;
  batches: AsyncIterable<Row[]>;
}

export async function* splitByKey(
  source: AsyncIterable<Row[]>,
  keyOf: (row: Row) => string,
): AsyncGenerator<KeyGroup> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Row[] = [];
  let exhausted = false;
  const seen = new Set<string>();

  /** Fill `pending` with the next non-empty batch; false at the end of the source. */
  const refill = async (): Promise<boolean> => {
    while (pending.length === 0) {
      if (exhausted) return false;
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return false;
      }
      pending = next.value;
    }
    return true;
  };

  try {
    while (await refill()) {
      const key = keyOf(pending[0] as Row);
      if (seen.has(key)) throw new TerminalError(`rows are not ordered by their partition: ${key} came back`);
      seen.add(key);
      let drained = false;
      const group = async function* (): AsyncGenerator<Row[]> {
        while (await refill()) {
          let end = 0;
          while (end < pending.length && keyOf(pending[end] as Row) === key) end++;
          const chunk = end === pending.length ? pending : pending.slice(0, end);
          pending = end === pending.length ? [] : pending.slice(end);
          if (chunk.length > 0) yield chunk;
          if (pending.length > 0) break; // the next key starts here
        }
        drained = true;
      };
      yield { key, batches: group() };
      if (!drained)
        throw new TerminalError(`the rows of partition ${key} were not consumed before the next one`);
    }
  } finally {
    // stop the source (closes the warehouse cursor) when the consumer stops early or fails
    if (!exhausted) await iterator.return?.();
  }
}

/**
 * Ask the source for its next batches before they are needed, so the warehouse produces batch N+1
 * (DuckDB's fetch runs on a worker thread; Snowflake downloads the next chunk) while this process
 * encodes batch N. Without it each fetch waits for the previous batch to be written, and the two
 * never overlap. `depth` batches are held at most.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, depth = 2): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const pending: Array<Promise<IteratorResult<T>>> = [];
  let done = false;
  try {
    for (let i = 0; i < depth; i++) pending.push(iterator.next());
    for (;;) {
      const next = await (pending.shift() as Promise<IteratorResult<T>>);
      if (next.done) {
        done = true;
        return;
      }
      pending.push(iterator.next());
      yield next.value;
    }
  } finally {
    if (!done) {
      // let the requests already made settle, then close the source (and its cursor)
      await Promise.allSettled(pending);
      await iterator.return?.();
    }
  }
}
