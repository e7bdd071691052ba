/**
 * Internal stages for the live scenario (./scenario.ts): where the corpus lands when no bucket is
 * configured, and how the stage landing learns a staged file's identity without S3.
 *
 * - The stages: named internal stages in place of 30_stages.sql's external ones (no URL, no storage
 *   integration), the landing one with the same lines format.
 *   https://docs.snowflake.com/en/sql-reference/sql/create-stage
 * - PUT uploads a local file to an internal stage (never an external one), under a path of the stage;
 *   AUTO_COMPRESS = FALSE keeps the file's name (with TRUE the driver gzips it and adds `.gz`), so the
 *   path relative to the stage is the landing key, as on the bucket.
 *   https://docs.snowflake.com/en/sql-reference/sql/put
 * - LIST answers what HEAD answers on S3: per file its name, size, md5 ("an MD5 hash of the contents
 *   of the staged data file") and last_modified.
 *   https://docs.snowflake.com/en/sql-reference/sql/list,
 *   https://docs.snowflake.com/en/developer-guide/snowpark/reference/python/latest/snowpark/api/snowflake.snowpark.ListResult
 *   The stage landing finds a version's lines by METADATA$FILE_LAST_MODIFIED at whole seconds
 *   ("Last modified timestamp of the staged data file", TIMESTAMP_NTZ, for internal stages as for
 *   external ones: https://docs.snowflake.com/en/user-guide/querying-metadata). That LIST's
 *   last_modified and that column agree to the second on an internal stage is not documented: the live
 *   run is what checks it (a disagreement fails the load with "no landed lines for Last-Modified").
 */
import path from 'node:path';
import type { SnowflakeNames } from '../../shared/ingest/landing/stage-sql';
import type { Row, Warehouse } from '../../shared/warehouse/port';

export interface StagedFile {
  key: string;
  etag: string;
  size: number;
  lastModified: Date;
}

/** Puts local files on the landing stage and says what is there (for the HEAD of the landing). */
export interface StageLoader {
  put(wh: Warehouse, names: SnowflakeNames, dir: string, keys: readonly string[]): Promise<StagedFile[]>;
}

const PLAIN_PATH = /^[A-Za-z0-9_./=-]+$/;

/** 30_stages.sql's two stages, internal. */
export function internalStageStatements(database: string, landingStage: string, exportStage: string): string[] {
  return [
    `create stage if not exists ${database}.${landingStage}
  file_format = (format_name = '${database}.raw.lines_format')
  comment = 'landing files (internal: the live test, no bucket)'`,
    `create stage if not exists ${database}.${exportStage}
  comment = 'exports (internal: the live test, no bucket)'`,
  ];
}

/** A Snowflake string literal (quotes doubled, backslashes escaped). */
function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** PUT one local file onto the stage, under the key's folder; the file keeps its name. */
export function putStatement(names: SnowflakeNames, file: string, key: string): string {
  if (!path.isAbsolute(file)) throw new Error(`PUT needs an absolute path, got ${file}`);
  if (path.posix.basename(key) !== path.basename(file)) throw new Error(`${file} is not named as the key ${key}`);
  if (!PLAIN_PATH.test(key)) throw new Error(`a live-test key must be plain: ${key}`);
  const folder = path.posix.dirname(key);
  const target = `@${names.database}.${names.stage}${folder === '.' ? '' : `/${folder}/`}`;
  // the URI and the stage path are quoted: folders like d=2019-10-01 carry special characters
  return `put ${quoted(`file://${file}`)} ${quoted(target)} auto_compress = false overwrite = true`;
}

export function listStatement(names: SnowflakeNames): string {
  return `list @${names.database}.${names.stage}`;
}

/**
 * The staged files of a LIST result. An internal stage names its files `<stage name>/<path>` (lower
 * case); an external stage by their URL. The key is the path relative to the stage.
 */
export function stagedFromList(rows: Row[], names: SnowflakeNames): StagedFile[] {
  const bare = names.stage.split('.').pop()!.toLowerCase();
  return rows.map((r) => {
    const name = String(r.name ?? '');
    const slash = name.indexOf('/');
    const key = /^[a-z0-9]+:\/\//i.test(name)
      ? name.replace(/^[a-z0-9]+:\/\/[^/]+\//i, '')
      : slash > 0 && name.slice(0, slash).toLowerCase() === bare
        ? name.slice(slash + 1)
        : name;
    const lastModified = new Date(String(r.last_modified ?? ''));
    if (Number.isNaN(lastModified.getTime())) throw new Error(`LIST gave no readable last_modified for ${name}: ${String(r.last_modified)}`);
    return { key, etag: String(r.md5 ?? ''), size: Number(r.size ?? 0), lastModified };
  });
}

/** PUT each file, then LIST the stage: what Snowflake holds is what the landing is told. */
export const putStageLoader: StageLoader = {
  async put(wh, names, dir, keys) {
    for (const key of keys) {
      const rows = await wh.query(putStatement(names, path.join(dir, ...key.split('/')), key));
      const status = String(rows[0]?.status ?? '');
      if (rows.length !== 1 || !/^(UPLOADED|SKIPPED)$/i.test(status)) throw new Error(`PUT ${key}: ${JSON.stringify(rows)}`);
    }
    const wanted = new Set(keys);
    return stagedFromList(await wh.query(listStatement(names)), names).filter((f) => wanted.has(f.key));
  },
};
