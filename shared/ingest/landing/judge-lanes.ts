/**
 * Where the DuckDB path judges its objects' lines: lanes, each with its own CSV sinks for a batch.
 * The object store's landing (./object-store.ts) fetches each object and hands its bytes to a lane;
 * the lane reads the lines within the ceilings (./lines.ts), runs the rules (../rules/judge.ts) and
 * writes the judged rows to its sinks (./csv-sink.ts). DuckDB then reads every lane's files.
 *
 * Judging is the CPU-bound part of the local ingest (JSON parsing, the rules, CSV encoding), so lanes
 * run on worker threads (./judge-worker.ts), one per core by default (INGEST_JUDGE_THREADS), while
 * the calling thread keeps the S3 reads and the warehouse. An inline lane does the same work on the
 * calling thread: it is what a worker runs, and the fallback when workers cannot start (a bundle
 * without the worker file, INGEST_JUDGE_THREADS=0) or one died. Measured in `npm run bench -- ingest`
 * (docs/ARCHITECTURE.md §5).
 *
 * https://nodejs.org/docs/latest-v20.x/api/worker_threads.html
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { TransientError, UnreadableFileError } from '../../errors';
import { createJudge, OUT_FATAL, OUT_QUARANTINE, OUT_ROW } from '../rules/judge';
import type { JudgeSpec } from '../rules/spec';
import type { AppendCounts } from '../types';
import { CsvSink, type SinkColumn } from './csv-sink';
import { readLines, type LineLimits } from './lines';

/** What a lane needs to judge a batch's files (plain data: it crosses to a worker). */
export interface LaneBatch {
  id: string;
  dir: string;
  spec: JudgeSpec;
  limits: LineLimits;
  /** The table whose rows count as the file's records. */
  recordTable: number;
  tables: { name: string; columns: SinkColumn[]; skip: boolean[] | null }[];
  quarantineColumns: SinkColumn[];
}

/** Rows each of a lane's files received for a batch: per table, then the quarantine. */
export interface LaneFiles {
  tables: { file: string; rows: number }[];
  quarantine: { file: string; rows: number };
}

export interface Lane {
  open(batch: LaneBatch): Promise<void>;
  /**
   * Judge one object's bytes as file `fileIndex` of the batch. Throws UnreadableFileError for a fatal
   * verdict; when `signal` aborts, stops reading and throws.
   */
  judge(batchId: string, body: AsyncIterable<Buffer>, key: string, fileIndex: number, signal?: AbortSignal): Promise<AppendCounts>;
  close(batchId: string): Promise<LaneFiles>;
}

interface OpenBatch {
  batch: LaneBatch;
  sinks: CsvSink[];
  quarantine: CsvSink;
}

/** Judging on the calling thread. */
export class InlineLane implements Lane {
  private readonly batches = new Map<string, OpenBatch>();

  constructor(readonly index: number) {}

  async open(batch: LaneBatch): Promise<void> {
    const file = (name: string) => path.join(batch.dir, `${name}.${this.index}.csv`);
    this.batches.set(batch.id, {
      batch,
      sinks: batch.tables.map((t) => new CsvSink(file(t.name), t.columns)),
      quarantine: new CsvSink(file('quarantine'), batch.quarantineColumns),
    });
  }

  async judge(batchId: string, body: AsyncIterable<Buffer>, key: string, fileIndex: number, signal?: AbortSignal): Promise<AppendCounts> {
    const open = this.batches.get(batchId);
    if (!open) throw new TransientError(`judge lane ${this.index}: batch ${batchId} is not open`);
    const { batch, sinks, quarantine } = open;
    const counts: AppendCounts = { rows: 0, quarantined: 0, firstReason: undefined, fatal: undefined };
    const tail = `,${fileIndex},`;
    const judge = createJudge(batch.spec, (kind, t, line, values) => {
      if (kind === OUT_ROW) {
        sinks[t]!.push(values, batch.tables[t]!.skip, tail + line);
        if (t === batch.recordTable) counts.rows++;
      } else if (kind === OUT_QUARANTINE) {
        counts.quarantined++;
        counts.firstReason ??= values[1] as string;
        quarantine.push([fileIndex, line, values[0], values[1]]);
      } else if (kind === OUT_FATAL) {
        counts.fatal = values[0] as string;
      }
    });
    const source = body instanceof Readable ? body : Readable.from(body, { objectMode: false });
    // An abort stops the file at the next chunk of text. Destroying the source alone is not enough: a
    // gzip may already have handed all its bytes to the inflater, which goes on producing lines.
    const stopped = () => new TransientError(`${key}: reading stopped (${String(signal?.reason ?? 'aborted')})`);
    const stop = () => source.destroy(stopped());
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      await readLines(source, key, batch.limits, (text, n) => judge.line(text, n), async () => {
        if (signal?.aborted) throw stopped();
        if (judge.failed) throw new UnreadableFileError(`${key}: ${counts.fatal}`);
        for (const s of sinks) await s.drain();
        await quarantine.drain();
      });
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    judge.end();
    if (counts.fatal) throw new UnreadableFileError(`${key}: ${counts.fatal}`);
    return counts;
  }

  async close(batchId: string): Promise<LaneFiles> {
    const open = this.batches.get(batchId);
    if (!open) return { tables: [], quarantine: { file: '', rows: 0 } };
    this.batches.delete(batchId);
    for (const s of open.sinks) await s.close();
    await open.quarantine.close();
    return {
      tables: open.sinks.map((s) => ({ file: s.file, rows: s.rows })),
      quarantine: { file: open.quarantine.file, rows: open.quarantine.rows },
    };
  }
}

/** Chunks of an object in flight to a worker before the sender waits for it to catch up. */
const CHUNKS_IN_FLIGHT = 4;

type Reply = { op: 'reply'; id: number; value?: unknown; error?: { unreadable: boolean; message: string } } | { op: 'ack'; task: number };

/** A lane on a worker thread: the calls become messages; an object's bytes are sent chunk by chunk. */
class WorkerLane implements Lane {
  /** The thread (tests stop it to see a lane die). */
  readonly worker: Worker;
  private next = 0;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly acks = new Map<number, () => void>();
  dead: Error | undefined;

  constructor(
    readonly index: number,
    entry: string,
    private readonly onDeath: (lane: WorkerLane) => void,
  ) {
    // Judging allocates a short-lived object per value: a young generation of 192 MB (semi-spaces of
    // 64 MB) cut the scavenger's share of the time by half (bench ingest).
    // https://nodejs.org/docs/latest-v20.x/api/worker_threads.html#new-workerfilename-options
    const options = { workerData: { index }, stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 192 } };
    // under a TypeScript runner the worker loads its entry through tsx, as this thread did
    this.worker = entry.endsWith('.ts')
      ? new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(entry)});`, { ...options, eval: true })
      : new Worker(entry, options);
    this.worker.on('message', (m: Reply) => {
      if (m.op === 'ack') {
        this.acks.get(m.task)?.();
        return;
      }
      const call = this.calls.get(m.id);
      if (!call) return;
      this.calls.delete(m.id);
      if (this.calls.size === 0) this.worker.unref();
      if (!m.error) call.resolve(m.value);
      else call.reject(m.error.unreadable ? new UnreadableFileError(m.error.message) : new TransientError(m.error.message));
    });
    const die = (err: Error) => {
      if (this.dead) return;
      this.dead = new TransientError(`judge worker ${index} stopped: ${err.message}`);
      for (const c of this.calls.values()) c.reject(this.dead);
      this.calls.clear();
      for (const wake of this.acks.values()) wake();
      this.onDeath(this);
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`exit code ${code}`)));
    // an idle lane never keeps the process alive; one with calls in flight does (after the listeners:
    // adding a 'message' listener refs the worker again)
    this.worker.unref();
  }

  private call<T>(message: Record<string, unknown>): { id: number; result: Promise<T> } {
    const id = ++this.next;
    const result = new Promise<T>((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      if (this.calls.size === 0) this.worker.ref();
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...message, id });
    });
    return { id, result };
  }

  open(batch: LaneBatch): Promise<void> {
    return this.call<void>({ op: 'open', batch }).result;
  }

  close(batchId: string): Promise<LaneFiles> {
    return this.call<LaneFiles>({ op: 'close', batchId }).result;
  }

  async judge(batchId: string, body: AsyncIterable<Buffer>, key: string, fileIndex: number, signal?: AbortSignal): Promise<AppendCounts> {
    const { id: task, result } = this.call<AppendCounts>({ op: 'judge', batchId, key, fileIndex });
    // an abort reaches the worker whether or not all the bytes were sent (it may still be inflating them)
    const abort = () => {
      if (!this.dead) this.worker.postMessage({ op: 'abort', task, message: `${key}: reading stopped (${String(signal?.reason ?? 'aborted')})` });
      if (body instanceof Readable) body.destroy();
    };
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    result.finally(() => signal?.removeEventListener('abort', abort)).catch(() => undefined);
    let settled = false;
    result.then(
      () => (settled = true),
      () => (settled = true),
    );
    let inFlight = 0;
    let wake: (() => void) | undefined;
    this.acks.set(task, () => {
      inFlight--;
      wake?.();
    });
    // the worker answers early on a fatal verdict (or dies): stop reading the object then
    const stopped = () => settled || this.dead !== undefined;
    result
      .finally(() => {
        wake?.();
        if (body instanceof Readable && !body.readableEnded) body.destroy();
      })
      .catch(() => undefined);
    try {
      for await (const chunk of body) {
        if (stopped()) break;
        this.worker.postMessage({ op: 'chunk', task, data: chunk });
        inFlight++;
        while (inFlight >= CHUNKS_IN_FLIGHT && !stopped()) await new Promise<void>((r) => (wake = r));
      }
      if (!stopped()) this.worker.postMessage({ op: 'end', task });
    } catch (err) {
      // stopped: the stream ended because the verdict came first, which is the answer
      if (!stopped()) {
        // the object's stream failed (S3 went away): the worker drops what it had of this file
        if (!this.dead) this.worker.postMessage({ op: 'abort', task, message: (err as Error).message });
        await result.catch(() => undefined);
        throw err;
      }
    } finally {
      this.acks.delete(task);
    }
    return result;
  }
}

/** The worker's entry next to this module, if this build has one. */
function workerEntry(): string | undefined {
  const ext = path.extname(__filename);
  const entry = path.join(__dirname, `judge-worker${ext}`);
  if (!fs.existsSync(entry)) return undefined;
  if (ext === '.ts') {
    try {
      require.resolve('tsx/cjs/api');
    } catch {
      return undefined;
    }
  }
  return entry;
}

let pool: { threads: number; lanes: Lane[] } | undefined;

/**
 * The process's lanes: `threads` worker lanes (0: one inline lane). A lane whose worker died is
 * replaced by an inline one, so a broken worker never fails loads.
 */
export function judgeLanes(threads: number): Lane[] {
  if (pool?.threads === threads) return pool.lanes;
  const entry = threads > 0 ? workerEntry() : undefined;
  const lanes: Lane[] = [];
  if (!entry) lanes.push(new InlineLane(0));
  else {
    const replace = (lane: WorkerLane) => {
      const at = lanes.indexOf(lane);
      if (at !== -1) lanes[at] = new InlineLane(lane.index);
    };
    for (let i = 0; i < threads; i++) lanes.push(new WorkerLane(i, entry, replace));
  }
  pool = { threads, lanes };
  return lanes;
}
