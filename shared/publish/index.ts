/**
 * Publishing row sets to S3 as partitioned part files plus a manifest (the commit marker).
 * Used by the transfer (`shared/transfer`) and the weekly export of `rebuild`.
 *
 *   const writer = createPartWriter({ bucket, runPrefix, format: 'jsonl.gz', columns });
 *   try {
 *     await writer.writePartition('month=2024-01', rowsOrAsyncBatches);
 *     const { manifestKey, rowCount, parts } = await writer.commit({ run_id });
 *   } catch (err) {
 *     await writer.abort(err);
 *     throw err;
 *   }
 */
export { createPartWriter, partKey, assertKeyPath, deleteKeys, listKeys } from './part-writer';
export { buildManifest, putManifest, manifestKey, MANIFEST_NAME } from './manifest';
export { createEncoder, FORMAT_INFO, parquetFieldType } from './encoders';
export { createPseudonymiser, hmacHex, pseudonymisationKey } from './pseudonymise';
export * from './types';
