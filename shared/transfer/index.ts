/**
 * The transfer: `transferData({ source_table, destination_s3_bucket, ...options })`.
 * See ./run.ts for the flow, ./plan.ts for the semantics and SQL, ./unload.ts for Snowflake's unload.
 */
export { transferData, type TransferResult, type TransferDeps } from './run';
export {
  transferRequestSchema,
  parseTransferRequest,
  newTransferRunId,
  type TransferRequest,
} from './request';
export {
  planTransfer,
  buildAggregateSql,
  buildUnloadSql,
  blankRowPredicate,
  monthPartition,
  quoteColumn,
  NULL_MONTH_PARTITION,
  type TransferPlan,
  type PlannedColumn,
  type ColumnRole,
} from './plan';
export { splitByKey } from './split';
