/**
 * A judge lane's worker thread (./judge-lanes.ts): an inline lane driven by messages. An object's
 * bytes arrive as chunks and are read as one stream; each chunk is acknowledged once the stream has
 * room for more, so the sender never runs ahead by more than a few chunks.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { UnreadableFileError } from '../../errors';
import { InlineLane, type LaneBatch } from './judge-lanes';

type Message =
  | { op: 'open'; id: number; batch: LaneBatch }
  | { op: 'close'; id: number; batchId: string }
  | { op: 'judge'; id: number; batchId: string; key: string; fileIndex: number }
  | { op: 'chunk'; task: number; data: Uint8Array }
  | { op: 'end'; task: number }
  | { op: 'abort'; task: number; message: string };

const port = parentPort!;
const lane = new InlineLane((workerData as { index: number }).index);
const streams = new Map<number, { source: Readable; owed: boolean; abort: AbortController }>();

const reply = (id: number, work: Promise<unknown>) =>
  work.then(
    (value) => port.postMessage({ op: 'reply', id, value }),
    (err: Error) =>
      port.postMessage({ op: 'reply', id, error: { unreadable: err instanceof UnreadableFileError, message: err.message } }),
  );

port.on('message', (m: Message) => {
  switch (m.op) {
    case 'open':
      void reply(m.id, lane.open(m.batch));
      return;
    case 'close':
      void reply(m.id, lane.close(m.batchId));
      return;
    case 'judge': {
      const task = m.id;
      const entry = {
        owed: false,
        abort: new AbortController(),
        source: new Readable({
          highWaterMark: 1 << 20,
          read() {
            if (entry.owed) {
              entry.owed = false;
              port.postMessage({ op: 'ack', task });
            }
          },
        }),
      };
      streams.set(task, entry);
      void reply(task, lane.judge(m.batchId, entry.source, m.key, m.fileIndex, entry.abort.signal).finally(() => {
        streams.delete(task);
        entry.source.destroy();
      }));
      return;
    }
    case 'chunk': {
      const entry = streams.get(m.task);
      if (!entry) return; // the file already ended (a fatal verdict): the rest is not needed
      if (entry.source.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength))) {
        port.postMessage({ op: 'ack', task: m.task });
      } else entry.owed = true;
      return;
    }
    case 'end':
      streams.get(m.task)?.source.push(null);
      return;
    case 'abort': {
      const entry = streams.get(m.task);
      entry?.abort.abort(m.message);
      entry?.source.destroy(new Error(m.message));
      return;
    }
  }
});
