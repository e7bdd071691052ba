/**
 * The manifest: written last, it is the commit marker of a publish run. It lists every part with
 * its rows, bytes and SHA-256, the partitions, and the columns with their roles, so a consumer can
 * verify what it downloaded and ignore anything under the prefix that the manifest does not list.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ColumnSpec, Manifest, OutputFormat, PartInfo } from './types';

export const MANIFEST_NAME = '_manifest.json';

export function manifestKey(runPrefix: string): string {
  return runPrefix ? `${runPrefix}/${MANIFEST_NAME}` : MANIFEST_NAME;
}

export function buildManifest(input: {
  bucket: string;
  runPrefix: string;
  format: OutputFormat;
  columns: ColumnSpec[];
  parts: PartInfo[];
  extra?: Record<string, unknown>;
  now?: Date;
}): Manifest {
  const partitions = new Map<string, { partition: string; rows: number; parts: number }>();
  for (const part of input.parts) {
    const entry = partitions.get(part.partition) ?? { partition: part.partition, rows: 0, parts: 0 };
    entry.rows += part.rows;
    entry.parts += 1;
    partitions.set(part.partition, entry);
  }
  return {
    ...input.extra,
    manifest_version: 1,
    created_at: (input.now ?? new Date()).toISOString(),
    bucket: input.bucket,
    prefix: input.runPrefix,
    format: input.format,
    row_count: input.parts.reduce((n, p) => n + p.rows, 0),
    bytes: input.parts.reduce((n, p) => n + p.bytes, 0),
    columns: input.columns,
    partitions: [...partitions.values()],
    parts: input.parts,
  };
}

/** PUT the manifest (a single small object: atomic, so it is either there whole or not at all). */
export async function putManifest(client: S3Client, manifest: Manifest): Promise<string> {
  const key = manifestKey(manifest.prefix);
  await client.send(
    new PutObjectCommand({
      Bucket: manifest.bucket,
      Key: key,
      Body: JSON.stringify(manifest, null, 2) + '\n',
      ContentType: 'application/json',
    }),
  );
  return key;
}
