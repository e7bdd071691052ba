/**
 * One measured case of the transfer benchmark, run in its own process so its peak RSS
 * (`process.resourceUsage().maxRSS`, which includes DuckDB's native memory) is its own.
 * Started by bench/transfer.ts; prints one JSON line on stdout.
 *
 *   node --import tsx bench/transfer-case.ts <case> <json options>
 */
import '../local/env';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { resetConfig } from '../shared/config';
import { setLogSink } from '../shared/logger';
import { createS3Client, setS3Client } from '../shared/storage/object-store';
import { buildAggregateSql, planTransfer, transferData } from '../shared/transfer';
import { setWarehouse } from '../shared/warehouse';
import { DuckDbWarehouse } from '../shared/warehouse/duckdb';

export interface CaseOptions {
  duckdbPath: string;
  tempDir: string;
  memoryLimit: string;
  threads: number;
  table: string;
  format?: 'jsonl.gz' | 'csv.gz' | 'parquet';
  /** native-copy: where DuckDB writes its partitioned files. */
  outDir?: string;
  runId?: string;
  /** put-floor: how many objects of which size. */
  objects?: number;
  objectBytes?: number;
}

export interface CaseResult {
  case: string;
  seconds: number;
  maxRssMb: number;
  rows: number;
  bytes?: number;
  files?: number;
}

/**
 * DuckDB's memory: the same limit for every case, so the comparison is like for like, and low
 * enough that DuckDB spills its sort and hash tables to disk instead of growing past the 1 GB
 * worker. https://duckdb.org/docs/stable/configuration/overview
 */
async function openWarehouse(opts: CaseOptions): Promise<DuckDbWarehouse> {
  const wh = new DuckDbWarehouse(opts.duckdbPath);
  await wh.execute(`set memory_limit = '${opts.memoryLimit.replace(/[^0-9A-Za-z.]/g, '')}'`);
  await wh.execute(`set threads = ${Math.max(1, Math.trunc(opts.threads))}`);
  await wh.execute(`set temp_directory = '${opts.tempDir.replace(/'/g, "''")}'`);
  // row order only matters through explicit ORDER BY; keeping insertion order costs memory in COPY
  await wh.execute('set preserve_insertion_order = false');
  return wh;
}

async function main(): Promise<void> {
  const [name, json] = process.argv.slice(2);
  const opts = JSON.parse(json ?? '{}') as CaseOptions;
  setLogSink(() => undefined);
  const wh = await openWarehouse(opts);
  const started = process.hrtime.bigint();
  let result: Omit<CaseResult, 'seconds' | 'maxRssMb' | 'case'>;
  switch (name) {
    case 'bare-aggregation': {
      // the limit: the same aggregation, rows fetched and dropped, nothing encoded or written
      const plan = planTransfer(
        { table: opts.table },
        'duckdb',
        await wh.describeTable({ table: opts.table }),
      );
      let rows = 0;
      for await (const batch of wh.stream(buildAggregateSql(plan))) rows += batch.length;
      result = { rows };
      break;
    }
    case 'native-copy': {
      // DuckDB's own partitioned writer for the same result (no ORDER BY needed: it partitions itself)
      const plan = planTransfer(
        { table: opts.table },
        'duckdb',
        await wh.describeTable({ table: opts.table }),
      );
      const sql = buildAggregateSql(plan, { orderByMonth: false });
      const out = opts.outDir!.replace(/'/g, "''");
      const rows = await wh.execute(
        `copy (${sql}) to '${out}' (format csv, header true, compression gzip, partition_by ("${plan.monthKey}"), overwrite_or_ignore true)`,
      );
      result = { rows };
      break;
    }
    case 'transfer': {
      process.env.DUCKDB_PATH = opts.duckdbPath;
      resetConfig();
      setS3Client(createS3Client());
      setWarehouse(wh);
      const r = await transferData({
        source_table: opts.table,
        destination_s3_bucket: 'exports',
        format: opts.format ?? 'jsonl.gz',
        prefix: 'bench',
        run_id: opts.runId,
      });
      result = { rows: r.row_count, bytes: r.bytes, files: r.parts };
      break;
    }
    case 'put-floor': {
      // the local S3 server's cost per object alone: as many PUTs of the same size, 8 at a time
      // (the part writer's limit for finishing parts), nothing else
      const client = createS3Client();
      const body = randomBytes(Math.max(1, opts.objectBytes ?? 1));
      const count = opts.objects ?? 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = next++; i < count; i = next++) {
            await client.send(
              new PutObjectCommand({ Bucket: 'exports', Key: `floor/${opts.runId}/${i}`, Body: body }),
            );
          }
        }),
      );
      result = { rows: 0, files: count, bytes: body.length * count };
      break;
    }
    default:
      throw new Error(`unknown case ${name}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // maxRSS is in kilobytes
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  await wh.close();
  process.stdout.write(`${JSON.stringify({ case: name, seconds, maxRssMb, ...result })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`case failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
