/**
 * `mode: "unload"` (Snowflake only): Snowflake writes the per-month files itself with
 * `COPY INTO @<export stage>/<prefix>/<table>/<run_id>/ ... PARTITION BY ... MAX_FILE_SIZE ...`,
 * in parallel on its warehouse, straight into the destination bucket. The function only runs the
 * statement and writes the manifest from the unload's detailed output (FILE_NAME, FILE_SIZE,
 * ROW_COUNT per file), so neither memory nor the 15-minute Lambda limit bounds the table size; the
 * statement's own timeout (STATEMENT_TIMEOUT_IN_SECONDS) does.
 *
 * The export stage is an external stage whose URL is the destination bucket (or a path in it):
 * `DESC STAGE` tells which, and a destination that is not the stage's bucket is refused, because
 * Snowflake could only write to the stage's bucket. Files written by Snowflake have no SHA-256 in
 * the manifest (`sha256: null`): Snowflake does not report one.
 * https://docs.snowflake.com/en/sql-reference/sql/copy-into-location
 * https://docs.snowflake.com/en/sql-reference/sql/desc-stage
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config';
import { InvalidInputError, TerminalError } from '../errors';
import type { Logger } from '../logger';
import { buildManifest, deleteKeys, listKeys, putManifest, type PartInfo } from '../publish';
import { parseTableName, quoteTable } from '../warehouse/identifiers';
import type { Row, Warehouse } from '../warehouse/port';
import { buildUnloadSql, type TransferPlan } from './plan';
import type { ParsedTransferRequest } from './request';
import { columnSpecs, manifestExtras, type RunOutcome } from './outcome';

/** Snowflake's default MAX_FILE_SIZE is 16 MB; bigger files mean fewer objects per month. */
const DEFAULT_MAX_FILE_SIZE = 256 * 1024 * 1024;

export interface StageLocation {
  bucket: string;
  /** Key prefix inside the bucket that the stage points at, '' or ending in '/'. */
  path: string;
}

/** The bucket and path of an external stage from its `DESC STAGE` rows (property URL). */
export function stageLocationFromDescribe(rows: Row[]): StageLocation {
  const urlRow = rows.find((r) => String(r.property ?? r.PROPERTY ?? '').toUpperCase() === 'URL');
  const raw = urlRow ? String(urlRow.property_value ?? urlRow.PROPERTY_VALUE ?? '') : '';
  // the value is a JSON-ish list: ["s3://bucket/path/"]
  const match = /s3:\/\/([^/"\]]+)\/?([^"\]]*)/.exec(raw);
  if (!match) throw new TerminalError(`the export stage is not an external S3 stage (URL: ${raw || 'none'})`);
  const path = match[2] ?? '';
  return { bucket: match[1] as string, path: path === '' || path.endsWith('/') ? path : `${path}/` };
}

/** One manifest part per unloaded file, from COPY's DETAILED_OUTPUT rows. */
export function partsFromUnload(rows: Row[], keyPrefix: string): PartInfo[] {
  return rows.map((r) => {
    const fileName = String(r.file_name ?? r.FILE_NAME ?? '');
    if (!fileName)
      throw new TerminalError('the unload output has no FILE_NAME column: was DETAILED_OUTPUT set?');
    const slash = fileName.lastIndexOf('/');
    return {
      key: `${keyPrefix}${fileName}`,
      partition: slash > 0 ? fileName.slice(0, slash) : '',
      rows: Number(r.row_count ?? r.ROW_COUNT ?? 0),
      bytes: Number(r.file_size ?? r.FILE_SIZE ?? 0),
      sha256: null,
    };
  });
}

export async function runUnload(ctx: {
  plan: TransferPlan;
  req: ParsedTransferRequest;
  runId: string;
  runPrefix: string;
  warehouse: Warehouse;
  s3: S3Client;
  config: Config;
  log: Logger;
  beforeCommit: () => Promise<void>;
}): Promise<RunOutcome> {
  const { plan, req } = ctx;
  if (!ctx.warehouse.dialect.unloadsToStage || ctx.config.warehouse.engine !== 'snowflake') {
    throw new InvalidInputError(
      'mode "unload" needs the Snowflake warehouse (COPY INTO a stage); use mode "stream"',
    );
  }
  const stageRef = parseTableName(ctx.config.warehouse.exportStage);
  const stage = quoteTable(stageRef, 'snowflake');
  const location = stageLocationFromDescribe(await ctx.warehouse.query(`desc stage ${stage}`));
  if (location.bucket !== req.destination_s3_bucket) {
    throw new InvalidInputError(
      `unload writes through the export stage ${ctx.config.warehouse.exportStage}, which points at ` +
        `s3://${location.bucket}/${location.path}, not at ${req.destination_s3_bucket}; use mode "stream" for other buckets`,
    );
  }
  const keyPrefix = `${location.path}${ctx.runPrefix}/`;

  // a rerun with the same run id starts from an empty prefix (COPY with PARTITION BY cannot OVERWRITE)
  const stale: string[] = [];
  for await (const key of listKeys(ctx.s3, location.bucket, keyPrefix)) stale.push(key);
  if (stale.length > 0) {
    ctx.log.info('deleting objects of an earlier attempt', { count: stale.length });
    await deleteKeys(ctx.s3, location.bucket, stale);
  }

  const sql = buildUnloadSql(plan, {
    location: `@${stage}/${ctx.runPrefix}/`,
    format: req.format,
    maxFileSize: req.max_file_size ?? DEFAULT_MAX_FILE_SIZE,
  });
  const output = await ctx.warehouse.query(sql);
  // by key in code-point order, which puts month=__null__ after the months, as the stream mode does
  const parts = partsFromUnload(output, keyPrefix).sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
  const manifest = buildManifest({
    bucket: location.bucket,
    runPrefix: `${location.path}${ctx.runPrefix}`,
    format: req.format,
    columns: columnSpecs(plan),
    parts,
    extra: { ...manifestExtras(plan, req, ctx.runId, sql), stage: ctx.config.warehouse.exportStage },
  });
  await ctx.beforeCommit();
  const manifestKey = await putManifest(ctx.s3, manifest);
  return {
    manifestKey,
    rowCount: manifest.row_count,
    months: manifest.partitions.length,
    parts: parts.length,
    bytes: manifest.bytes,
  };
}
