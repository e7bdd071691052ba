/**
 * Every number the capacity and cost model uses, with where it comes from.
 *
 * Three kinds:
 * - LIMIT: a documented quota or behaviour (AWS or Snowflake documentation).
 * - PRICE: a documented list price. Prices change and vary by region, edition and contract: each is
 *   "as listed" on the page named, read on LISTED_ON, US East (N. Virginia) on-demand where a region
 *   applies. Check the page before relying on a cost.
 * - ASSUMPTION: not documented by the vendor. Each says what it is based on and how to calibrate it
 *   (Snowflake QUERY_HISTORY / COPY_HISTORY, CloudWatch duration). The model is only as good as these.
 * - PROJECT: a value this project configures (serverless.yml, shared/ingest), cited by file.
 */

/** When the prices below were read from the pages cited. */
export const LISTED_ON = '2026-11-22';

// ----------------------------------------------------------------------------------------------
// AWS Lambda
// ----------------------------------------------------------------------------------------------

/**
 * LIMIT. A function runs at most 15 minutes per invocation and uses at most 10,240 MB of memory.
 * "Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_MAX_TIMEOUT_S = 900;
export const LAMBDA_MAX_MEMORY_MB = 10_240;
/** LIMIT. Default regional concurrency quota (can be raised). Same page. */
export const LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY = 1_000;
/**
 * LIMIT. "At 1,769 MB, a function has the equivalent of one vCPU": CPU scales with memory.
 * "Configure Lambda function memory", https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
 */
export const LAMBDA_MB_PER_VCPU = 1_769;
/**
 * LIMIT. Payload of a synchronous invocation, which is how the event source mapping passes a batch
 * ("up to the payload limit for synchronous invocation (6 MB)").
 * "CreateEventSourceMapping" BatchSize, https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
 */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
/**
 * PRICE. x86, first 6 billion GB-s a month: $0.0000166667 per GB-second; $0.20 per million requests
 * (arm64 is $0.0000133334 per GB-s). "AWS Lambda pricing", https://aws.amazon.com/lambda/pricing/
 * (also "How AWS Pricing Works: Lambda", https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html)
 */
export const LAMBDA_USD_PER_GB_SECOND = 0.0000166667;
export const LAMBDA_USD_PER_REQUEST = 0.2 / 1_000_000;

// ----------------------------------------------------------------------------------------------
// SQS and the Lambda event source mapping
// ----------------------------------------------------------------------------------------------

/**
 * LIMIT. Standard queue: BatchSize up to 10,000; MaximumBatchingWindowInSeconds 0..300; a batch size
 * above 10 needs a window of at least 1 s.
 * "Lambda parameters for Amazon SQS event source mappings", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html
 * and MaximumBatchingWindowInSeconds in https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
 */
export const ESM_MAX_BATCH_SIZE = 10_000;
export const ESM_MAX_BATCHING_WINDOW_S = 300;
export const ESM_MIN_WINDOW_ABOVE_10_S = 1;
/**
 * LIMIT. Scaling: Lambda starts with 5 concurrent batches, adds up to 300 instances a minute, at most
 * 1,000 concurrent batches per mapping; at low traffic it scales back to 5 (as few as 2) pollers.
 * ScalingConfig.MaximumConcurrency is 2..1,000.
 * "Configuring scaling behavior for SQS event source mappings", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
 * "ScalingConfig", https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html
 */
export const ESM_INITIAL_POLLERS = 5;
export const ESM_SCALE_UP_PER_MINUTE = 300;
export const ESM_MAX_CONCURRENCY = 1_000;
export const ESM_MIN_MAX_CONCURRENCY = 2;
/** LIMIT. Long polling waits at most 20 s per ReceiveMessage. "Amazon SQS standard queue quotas", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html */
export const SQS_LONG_POLL_S = 20;
/** LIMIT. At most 10 messages per ReceiveMessage and per DeleteMessageBatch. "Amazon SQS quotas", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html */
export const SQS_MESSAGES_PER_CALL = 10;
/**
 * PRICE. Standard queue: $0.40 per million requests (first million a month free, not counted here);
 * every 64 KB chunk of a payload is billed as one request. "Amazon SQS pricing", https://aws.amazon.com/sqs/pricing/
 */
export const SQS_USD_PER_REQUEST = 0.4 / 1_000_000;
export const SQS_BILLING_CHUNK_BYTES = 64 * 1024;
/**
 * ASSUMPTION. Size of one S3 event notification as an SQS record in the Lambda event: the samples in
 * events/sqs/ are 1.35-1.4 KB as compact JSON; real bodies carry longer request ids and user identity,
 * so 2 KB is used. "Event message structure", https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export const SQS_RECORD_BYTES = 2_000;

// ----------------------------------------------------------------------------------------------
// S3
// ----------------------------------------------------------------------------------------------

/**
 * PRICE. S3 Standard: PUT, COPY, POST, LIST $0.005 per 1,000; GET, SELECT and all other requests
 * (HEAD included) $0.0004 per 1,000. Transfer in, and to Snowflake/Lambda in the same region, is free.
 * "Amazon S3 pricing" (Requests & data retrievals), https://aws.amazon.com/s3/pricing/
 */
export const S3_USD_PER_PUT = 0.005 / 1_000;
export const S3_USD_PER_GET = 0.0004 / 1_000;
/**
 * LIMIT. At least 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD requests per second per partitioned prefix.
 * "Best practices design patterns: optimizing Amazon S3 performance", https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html
 */
export const S3_PUT_PER_S_PER_PREFIX = 3_500;
export const S3_GET_PER_S_PER_PREFIX = 5_500;
/**
 * LIMIT. One PUT carries at most 5 GB; bigger objects need a multipart upload (parts 5 MiB..5 GiB).
 * "Amazon S3 multipart upload limits", https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
 */
export const S3_MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

// ----------------------------------------------------------------------------------------------
// Snowflake
// ----------------------------------------------------------------------------------------------

export type WarehouseSize =
  'X-Small' | 'Small' | 'Medium' | 'Large' | 'X-Large' | '2X-Large' | '3X-Large' | '4X-Large';

/**
 * LIMIT/PRICE. Credits per hour of a standard (Gen1) warehouse, billed per second with a 60-second
 * minimum each time it starts or resumes.
 * "Overview of warehouses", https://docs.snowflake.com/en/user-guide/warehouses-overview
 * "Understanding compute cost", https://docs.snowflake.com/en/user-guide/cost-understanding-compute
 */
export const WAREHOUSE_CREDITS_PER_HOUR: Record<WarehouseSize, number> = {
  'X-Small': 1,
  Small: 2,
  Medium: 4,
  Large: 8,
  'X-Large': 16,
  '2X-Large': 32,
  '3X-Large': 64,
  '4X-Large': 128,
};
export const WAREHOUSE_SIZES = Object.keys(WAREHOUSE_CREDITS_PER_HOUR) as WarehouseSize[];
export const WAREHOUSE_MIN_BILLED_S = 60;
/**
 * PROJECT. AUTO_SUSPEND of the loading warehouse (sql/snowflake/00_account.sql: X-Small, auto_suspend = 60).
 * Lower values save little: every resume bills at least 60 s anyway.
 * "Warehouse considerations" (auto-suspension), https://docs.snowflake.com/en/user-guide/warehouses-considerations
 */
export const WAREHOUSE_AUTO_SUSPEND_S = 60;
/**
 * LIMIT. Statements a warehouse cluster runs at once before queueing (MAX_CONCURRENCY_LEVEL, default 8).
 * "MAX_CONCURRENCY_LEVEL", https://docs.snowflake.com/en/sql-reference/parameters#max-concurrency-level
 */
export const WAREHOUSE_MAX_CONCURRENCY_LEVEL = 8;
/**
 * ASSUMPTION. Load threads of an X-Small warehouse (one node); each size up doubles them. Snowflake
 * documents only that load parallelism is per file and grows with the warehouse's compute ("The number
 * of data files that are processed in parallel is determined by the amount of compute resources in a
 * warehouse", "Preparing your data files", https://docs.snowflake.com/en/user-guide/data-load-considerations-prepare).
 * Calibrate: a COPY of many equal files on X-Small, files per second x file time.
 */
export const XSMALL_LOAD_THREADS = 8;
/**
 * ASSUMPTION (from a vendor measurement). Warehouse credits per GB of uncompressed text loaded at full
 * utilisation. Snowflake's engineering blog loaded TPC-DS STORE_SALES (4.7 TB uncompressed) on a
 * 2X-Large: CSV 8.2 credits, JSON 17.5 credits.
 * "Loading Terabytes Into Snowflake: Speeds, Feeds and Techniques",
 * https://www.snowflake.com/en/engineering-blog/loading-terabytes-into-snowflake-speeds-feeds-techniques/
 * Our COPY lands each line as one text column (CSV-like): the CSV figure. The write step parses the
 * JSON lines into typed rows (INSERT ... SELECT parse_json): the JSON figure stands in for it.
 * Calibrate with QUERY_HISTORY (EXECUTION_TIME x warehouse credits/s) over a day of loads.
 */
export const COPY_LINES_CREDITS_PER_GB = 8.2 / 4_700;
export const PARSE_JSON_CREDITS_PER_GB = 17.5 / 4_700;
/**
 * ASSUMPTION. Fixed warehouse time per file in a COPY (open, list the object, commit its load
 * metadata), seconds of one load thread. Order of magnitude only; calibrate from COPY_HISTORY of
 * batches of tiny files.
 */
export const COPY_PER_FILE_THREAD_S = 0.05;
/**
 * LIMIT. COPY ... FILES = (...) takes at most 1,000 names; the loader sends one COPY per 1,000 files.
 * "COPY INTO <table>", https://docs.snowflake.com/en/sql-reference/sql/copy-into-table ;
 * PROJECT: MAX_FILES_PER_COPY in shared/ingest/snowflake-sql.ts.
 */
export const COPY_MAX_FILES = 1_000;
/**
 * LIMIT. Files of about 100-250 MB compressed load best; 100 GB or more is not recommended.
 * "Preparing your data files", https://docs.snowflake.com/en/user-guide/data-load-considerations-prepare
 */
export const RECOMMENDED_FILE_MB = { min: 100, max: 250 };
export const NOT_RECOMMENDED_FILE_GB = 100;
/**
 * PRICE. Snowpipe: 0.0037 credits per GB, text files billed on their uncompressed size, no per-file
 * charge, for all editions since December 8, 2025.
 * "Snowpipe costs", https://docs.snowflake.com/en/user-guide/data-load-snowpipe-billing
 * "Dec 08, 2025: Snowpipe simplified pricing", https://docs.snowflake.com/en/release-notes/2025/other/2025-12-08-snowpipe-simplified-pricing
 */
export const SNOWPIPE_CREDITS_PER_GB = 0.0037;
/**
 * PRICE (legacy, for accounts or contracts still on it). Before December 8, 2025 Snowpipe charged
 * its compute (1.25x the serverless credit rate) plus 0.06 credits per 1,000 files queued.
 * Former "Snowpipe costs" page ("Snowpipe charges 0.06 credits per 1000 files queued"),
 * https://docs.snowflake.com/en/user-guide/data-load-snowpipe-billing (earlier revision), and the
 * Serverless Feature Credit Table of the "Snowflake Service Consumption Table",
 * https://www.snowflake.com/legal-files/CreditConsumptionTable.pdf
 */
export const SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES = 0.06;
export const SNOWPIPE_LEGACY_COMPUTE_MULTIPLIER = 1.25;
/**
 * PRICE. Serverless tasks: 0.9 credits per compute hour (Serverless Feature Credit Table), an option
 * for a scheduled COPY instead of per-batch COPYs. "Snowflake Service Consumption Table",
 * https://www.snowflake.com/legal-files/CreditConsumptionTable.pdf ; "Introduction to tasks",
 * https://docs.snowflake.com/en/user-guide/tasks-intro
 */
export const SERVERLESS_TASK_COMPUTE_MULTIPLIER = 0.9;
/**
 * PRICE. On-demand price of a credit, Enterprise edition, AWS US East (N. Virginia). Standard is $2,
 * Business Critical $4. "Snowflake pricing", https://www.snowflake.com/en/pricing-options/
 * Contracts differ: pass --credit-usd.
 */
export const CREDIT_USD_DEFAULT = 3;
/**
 * LIMIT. Cloud services are billed only beyond 10% of the day's warehouse compute; the many small
 * statements of this design are assumed to stay inside that allowance (not modelled).
 * "Understanding compute cost", https://docs.snowflake.com/en/user-guide/cost-understanding-compute
 */
export const CLOUD_SERVICES_FREE_FRACTION = 0.1;
/**
 * LIMIT. COPY INTO <location> (unload): MAX_FILE_SIZE defaults to 16 MB, at most 5 GB on S3.
 * "COPY INTO <location>", https://docs.snowflake.com/en/sql-reference/sql/copy-into-location
 */
export const UNLOAD_MAX_FILE_BYTES = 5 * 1024 ** 3;
/**
 * LIMIT. ALTER PIPE ... REFRESH only sees files staged in the last 7 days.
 * "ALTER PIPE", https://docs.snowflake.com/en/sql-reference/sql/alter-pipe
 */
export const PIPE_REFRESH_WINDOW_DAYS = 7;

// ----------------------------------------------------------------------------------------------
// This project's ingest function (how many round trips a batch costs)
// ----------------------------------------------------------------------------------------------

/** PROJECT. Memory of the functions (serverless.yml provider.memorySize). */
export const INGEST_MEMORY_MB = 1_024;
/** PROJECT. ingestTimeout in serverless.yml; the model keeps a batch within half of it. */
export const INGEST_TIMEOUT_S = 300;
export const INGEST_DURATION_BUDGET_FRACTION = 0.5;
/**
 * PROJECT. Statements per batch and dataset in copy mode, counted in shared/ingest/snowflake-loader.ts:
 * triage, COPY, landed summary, rejected lines, then one transaction (lock, triage, clear previous,
 * insert transactions, insert items, counts, delete landed lines, ledger rows, begin/commit).
 */
export const STATEMENTS_PER_BATCH = 14;
/** PROJECT. Pipe mode adds one ALTER PIPE ... REFRESH per file and COPY_HISTORY polls (every 2 s, up to 20 s). */
export const PIPE_STATEMENTS_PER_FILE = 1;
export const PIPE_HISTORY_POLLS_PER_BATCH = 5;
/** PROJECT. How long the loader waits for Snowpipe before letting SQS redeliver (pipeWaitMs, 20 s). */
export const PIPE_WAIT_S = 20;
/** PROJECT. HEAD requests in flight per batch (mapLimit(..., 8) in shared/ingest/snowflake-loader.ts). */
export const HEAD_PARALLELISM = 8;
/**
 * ASSUMPTION. Round trip of a small Snowflake statement from Lambda in the same region (compile,
 * queue, execute, fetch), and of an S3 HEAD. Calibrate: the loader's 'COPY' and 'file loaded' log
 * lines, QUERY_HISTORY TOTAL_ELAPSED_TIME of the loader role.
 */
export const SNOWFLAKE_STATEMENT_RTT_S = 0.3;
/** ASSUMPTION. Warehouse-side execution of one small statement (what keeps the warehouse busy). */
export const SNOWFLAKE_STATEMENT_EXEC_S = 0.1;
export const S3_HEAD_RTT_S = 0.03;
/** ASSUMPTION. Lambda overhead per invocation (runtime, middy, logging; cold starts amortised). */
export const LAMBDA_OVERHEAD_S = 0.05;
/** The model sizes the warehouse to be busy at most this fraction of the day (headroom for bursts). */
export const WAREHOUSE_TARGET_UTILISATION = 0.7;
/** Batch sizes the model tries (largest first), bounded by the COPY file limit. */
export const BATCH_SIZE_CANDIDATES = [1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1];

// ----------------------------------------------------------------------------------------------
// Transfer (warehouse table -> monthly parts in S3)
// ----------------------------------------------------------------------------------------------

/**
 * ASSUMPTION. Warehouse credits to scan and aggregate one GB (uncompressed) of a table: 200 MB/s on
 * an X-Small, scaling with size (0.72 TB per credit). Order of magnitude for a GROUP BY over a few
 * columns of a date-ordered table; calibrate with QUERY_HISTORY of the transfer's aggregation.
 */
export const AGGREGATE_CREDITS_PER_GB = 1 / (0.2 * 3_600);
/**
 * ASSUMPTION (measured here). Aggregated rows a single Lambda streams from the warehouse through the
 * encoder and gzip into multipart parts, per second per vCPU. Measured locally: the transfer wrote
 * 199,999 aggregated rows as csv.gz parts to the local S3 server in 3.3 s, about 60,000 rows/s on one
 * busy core of a shared machine (bench/results/transfer.md, case (b)). Snowflake's JSON result sets
 * cost more to decode than DuckDB's rows, so this is an upper bound; calibrate from the transfer's logs.
 */
export const STREAM_ROWS_PER_S_PER_VCPU = 60_000;
/** ASSUMPTION. jsonl.gz bytes per aggregated row of a few columns (gzip of ~100-byte JSON lines). */
export const OUTPUT_BYTES_PER_ROW_GZ = 25;
/** PROJECT. Memory of the transfer function (serverless.yml: provider memorySize, 1 GB worker). */
export const TRANSFER_MEMORY_MB = 1_024;
/** The model keeps a transfer invocation within this fraction of the 15-minute limit. */
export const TRANSFER_DURATION_BUDGET_FRACTION = 0.8;
/** PROJECT. Multipart part size of the part writer (shared/publish, 8 MiB) and parts open at once. */
export const PART_BYTES = 8 * 1024 * 1024;
