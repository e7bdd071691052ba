/**
 * Every number the capacity and cost model uses, with where it comes from.
 *
 * Four kinds:
 * - LIMIT: a documented quota or behaviour (AWS or Snowflake documentation).
 * - PRICE: a documented list price. Prices change and vary by region, edition and contract: each is
 *   "as listed" on the page named, read on LISTED_ON, US East (N. Virginia) on-demand where a region
 *   applies. Check the page before relying on a cost.
 * - ASSUMPTION: not documented by the vendor. Each says what it is based on and how to calibrate it
 *   (Snowflake QUERY_HISTORY / COPY_HISTORY, CloudWatch duration). The model is only as good as these.
 * - PROJECT: a value this project configures (serverless.yml, sql/snowflake, shared/ingest), cited by
 *   file. test/unit/capacity-model.test.ts checks the serverless.yml ones against the file.
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
/**
 * LIMIT. Default regional concurrency quota, "Concurrent executions: 1,000", raisable to tens of
 * thousands. Same page, which also says "New AWS accounts have reduced concurrency and memory quotas.
 * AWS raises these quotas automatically based on your usage" without giving the reduced figure.
 */
export const LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY = 1_000;
/**
 * ASSUMPTION (observed, not documented). The reduced quota of a new account: CloudFormation errors
 * quoted in public issue threads read "decreases account's UnreservedConcurrentExecution below its
 * minimum value of [10]" on new accounts (e.g. https://github.com/awslabs/fhir-works-on-aws-deployment/issues/691:
 * "Full account concurrency is 10"); others saw 50. Check yours: `aws lambda get-account-settings`.
 */
export const LAMBDA_NEW_ACCOUNT_CONCURRENCY = 10;
/**
 * LIMIT. "At 1,769 MB, a function has the equivalent of one vCPU": CPU scales with memory.
 * "Configure Lambda function memory", https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
 */
export const LAMBDA_MB_PER_VCPU = 1_769;
/**
 * LIMIT. Payload of a synchronous invocation, which is how the event source mapping passes a batch:
 * "Lambda passes all of the records in the batch to the function in a single call, up to the payload
 * limit for synchronous invocation (6 MB)". A batch whose records exceed it is cut to what fits (the
 * mapping invokes with fewer records), it does not fail.
 * "CreateEventSourceMapping" BatchSize, https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
 */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
/**
 * PRICE. Duration, first tier of each architecture: x86 $0.0000166667 per GB-second (first 6 billion
 * GB-s a month), Arm $0.0000133334 per GB-second (first 7.5 billion); requests $0.20 per million for
 * both. "AWS Lambda pricing", https://aws.amazon.com/lambda/pricing/ (the page renders its rate table
 * from price tokens; the figures are AWS's published first-tier rates, also in the AWS Price List API;
 * a transcription of the Price List for eu-west-2, the default region here, shows the same two rates:
 * check your region). serverless.yml deploys arm64, so the model prices arm64.
 */
export const LAMBDA_USD_PER_GB_SECOND_X86 = 0.0000166667;
export const LAMBDA_USD_PER_GB_SECOND_ARM64 = 0.0000133334;
export const LAMBDA_USD_PER_REQUEST = 0.2 / 1_000_000;
/** PROJECT. provider.architecture in serverless.yml. */
export const LAMBDA_ARCHITECTURE: 'arm64' | 'x86_64' = 'arm64';
export const LAMBDA_USD_PER_GB_SECOND =
  LAMBDA_ARCHITECTURE === 'arm64' ? LAMBDA_USD_PER_GB_SECOND_ARM64 : LAMBDA_USD_PER_GB_SECOND_X86;

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
 * LIMIT. Scaling of a standard-queue mapping (standard mode, the default): "Lambda starts processing
 * five batches at a time with five concurrent invocations", then "increases the number of processes
 * that are reading batches by up to 300 more concurrent invokes per minute. The maximum number of
 * invokes that an event source mapping can process simultaneously is 1,250"; at low traffic it scales
 * back to five (as few as 2 when MaximumConcurrency is not set).
 * "Configuring scaling behavior for SQS event source mappings", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
 * (current revision; earlier revisions, and the knowledge-centre article
 * https://repost.aws/knowledge-center/lambda-sqs-scaling before its update, said 1,000 batches and 60 a minute.)
 */
export const ESM_INITIAL_CONCURRENCY = 5;
export const ESM_SCALE_UP_PER_MINUTE = 300;
export const ESM_MAX_CONCURRENT_INVOKES = 1_250;
/**
 * LIMIT. ScalingConfig.MaximumConcurrency (the `maximumConcurrency` of serverless.yml) accepts 2..1,000.
 * "ScalingConfig", https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html
 */
export const ESM_MIN_MAX_CONCURRENCY = 2;
export const ESM_MAX_MAX_CONCURRENCY = 1_000;
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
export const S3_USD_PER_LIST = 0.005 / 1_000;
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
/** PROJECT. The size sql/snowflake/00_account.sql creates the one warehouse with (ingest and rebuild share it). */
export const DEPLOYED_WAREHOUSE_SIZE: WarehouseSize = 'X-Small';
/**
 * LIMIT. MAX_CONCURRENCY_LEVEL, default 8, is set per warehouse and applies per cluster: "Specifies
 * the concurrency level for SQL statements (that is, queries and DML) executed by a warehouse. When the
 * level is reached ... Single-cluster or multi-cluster (in Maximized mode): Statements are queued until
 * already-allocated resources are freed or additional resources are provisioned, which can be
 * accomplished by increasing the size of the warehouse. Multi-cluster (in Auto-scale mode): Additional
 * clusters are started." It is not a fixed count: "Smaller, more basic statements: More statements
 * might execute concurrently because small statements generally execute on a subset of the available
 * compute resources in a warehouse. This means they only count as a fraction towards the concurrency
 * level. Larger, more complex statements: Fewer statements might execute concurrently."
 * "Parameters" MAX_CONCURRENCY_LEVEL, https://docs.snowflake.com/en/sql-reference/parameters#max-concurrency-level
 */
export const WAREHOUSE_MAX_CONCURRENCY_LEVEL = 8;
/**
 * ASSUMPTION. The fraction of the concurrency level one small statement (a ledger read, a one-row
 * INSERT, BEGIN/COMMIT) counts for: the share of one X-Small's worth of compute in the cluster, so a
 * cluster runs MAX_CONCURRENCY_LEVEL x (credits per hour of its size) small statements at once before
 * queueing: 8 on an X-Small, 16 on a Small, 1,024 on a 4X-Large. Snowflake documents only that the
 * fraction exists (above), not its value. A COPY or the INSERT that parses a batch counts as one
 * whole statement. Calibrate: QUERY_HISTORY QUEUED_OVERLOAD_TIME of the loader role at a known concurrency.
 */
export function smallStatementsPerCluster(size: WarehouseSize): number {
  return WAREHOUSE_MAX_CONCURRENCY_LEVEL * WAREHOUSE_CREDITS_PER_HOUR[size];
}
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
 * JSON lines into typed rows (INSERT ALL from a JavaScript table function): the JSON figure stands in
 * for it. Calibrate with QUERY_HISTORY (EXECUTION_TIME x warehouse credits/s) over a day of loads.
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
 * PROJECT: MAX_FILES_PER_COPY in shared/ingest/landing/stage-sql.ts.
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
 * LIMIT/ASSUMPTION. How long Snowpipe takes to load a file it was handed. Snowflake: "Snowpipe is
 * designed to load new data typically within a minute after a file notification is sent; however,
 * loading can take significantly longer for really large files" ("Preparing your data files",
 * https://docs.snowflake.com/en/user-guide/data-load-considerations-prepare), "making it available to
 * users within minutes" ("Snowpipe", https://docs.snowflake.com/en/user-guide/data-load-snowpipe-intro),
 * and "it is very difficult for Snowflake to estimate latency ... We suggest that you experiment"
 * (same page, "Estimating Snowpipe latency"). The model takes the typical minute, for files handed over
 * by ALTER PIPE ... REFRESH as for notifications (the docs do not distinguish them). Calibrate:
 * COPY_HISTORY LAST_LOAD_TIME minus the REFRESH's QUERY_HISTORY START_TIME.
 */
export const SNOWPIPE_TYPICAL_LATENCY_S = 60;
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
 * LIMIT. Cloud services are billed only beyond 10% of the day's warehouse compute: "Usage for cloud
 * services is billed only if the daily consumption of cloud services exceeds 10% of the daily usage of
 * virtual warehouses." Serverless compute (Snowpipe) does not raise the allowance.
 * "METERING_DAILY_HISTORY view", https://docs.snowflake.com/en/sql-reference/account-usage/metering_daily_history ;
 * "Understanding compute cost", https://docs.snowflake.com/en/user-guide/cost-understanding-compute
 */
export const CLOUD_SERVICES_FREE_FRACTION = 0.1;
/**
 * ASSUMPTION. Cloud-services credits of one small statement (compile, metadata, commit): 5e-6 credits,
 * about 18 ms of compute at one credit an hour. Snowflake publishes no per-statement figure; it warns
 * that "high frequency, simple queries" (tens of thousands a day) add up, that listing files for a COPY
 * uses only cloud services, and that queries waiting on a transaction lock consume cloud-services
 * credits while they wait ("Optimizing cost", https://docs.snowflake.com/en/user-guide/cost-optimize).
 * ALTER PIPE ... REFRESH runs on cloud services only. Calibrate: QUERY_HISTORY.CREDITS_USED_CLOUD_SERVICES
 * of the loader role divided by its statement count.
 */
export const CLOUD_SERVICES_CREDITS_PER_STATEMENT = 5e-6;
/**
 * LIMIT. COPY INTO <location> (unload): MAX_FILE_SIZE defaults to 16 MB, at most 5 GB on S3.
 * "COPY INTO <location>", https://docs.snowflake.com/en/sql-reference/sql/copy-into-location
 */
export const UNLOAD_MAX_FILE_BYTES = 5 * 1024 ** 3;
/**
 * LIMIT. ALTER PIPE ... REFRESH "can only load data files that were staged within the last 7 days",
 * checks the load history of the pipe and the table, and "is intended for short term use to resolve
 * specific issues when Snowpipe fails to load a subset of files and is not intended for regular use".
 * The page does not say whether REFRESH lists the stage (the PREFIX "limits the set of files to
 * load"); for directory tables Snowflake says a manual refresh "performs a list operation on the
 * stage" ("Manage directory tables", https://docs.snowflake.com/en/user-guide/data-load-dirtables-manage).
 * "ALTER PIPE", https://docs.snowflake.com/en/sql-reference/sql/alter-pipe
 */
export const PIPE_REFRESH_WINDOW_DAYS = 7;
/**
 * ASSUMPTION (the docs are silent, above). One S3 LIST request on our bucket per REFRESH with a
 * PREFIX that is the file's own key, billed to the bucket owner at the LIST price. Calibrate: the
 * landing bucket's access logs (requests by the Snowflake storage integration's role).
 */
export const S3_LISTS_PER_PIPE_REFRESH = 1;

// ----------------------------------------------------------------------------------------------
// Locking (the old hot path: a dataset lock row)
// ----------------------------------------------------------------------------------------------

/**
 * LIMIT. "UPDATE, DELETE, and MERGE statements hold locks that generally prevent them from running in
 * parallel with other UPDATE, DELETE, and MERGE statements" (on standard tables the lock is the
 * table's: hybrid tables lock rows); "Most INSERT and COPY statements write only new partitions. Those
 * statements often can run in parallel with other INSERT and COPY operations, and sometimes can run in
 * parallel with an UPDATE, DELETE, or MERGE statement"; COMMIT locks "usually only briefly". A blocked
 * statement waits up to LOCK_TIMEOUT (default 43,200 s).
 * "Transactions" (Resource locking), https://docs.snowflake.com/en/sql-reference/transactions#resource-locking
 */
export const LOCK_TIMEOUT_DEFAULT_S = 43_200;
/**
 * LIMIT (observed; Snowflake's documentation is silent). Snowflake aborts a statement when too many
 * statements already wait on the same lock: error 000625 (57014) "Your statement '...' was aborted
 * because the number of waiters for this lock exceeds the 20 statements limit". The Transactions page
 * (above) documents LOCK_TIMEOUT and deadlock handling but no waiter limit; the figure comes from the
 * error text quoted in public code and issues, and one 2025 report reads "the 50 statements limit",
 * so the limit may differ by account or release. The model uses 20.
 */
export const LOCK_WAITER_LIMIT = 20;

// ----------------------------------------------------------------------------------------------
// This project's ingest function (what a batch costs)
// ----------------------------------------------------------------------------------------------

/**
 * PROJECT. The deployed settings (serverless.yml: params.default, provider and functions; the unit test
 * reads the file and checks these).
 * The queue's visibility timeout is also how long a record the function reports as failed waits for
 * its redelivery: LIMIT, a failed record is not deleted and "After your queue's visibility timeout runs
 * out, the message will again reappear in the queue" ("Handling errors for an SQS event source in
 * Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
 */
export const DEPLOYED = {
  batchSize: 10,
  batchingWindowS: 5,
  maximumConcurrency: 5,
  timeoutS: 300,
  memoryMb: 1_024,
  visibilityTimeoutS: 1_860,
  maxReceiveCount: 5,
  rebuildTimeoutS: 900,
} as const;
/** PROJECT. Memory of the functions (serverless.yml provider.memorySize). */
export const INGEST_MEMORY_MB = DEPLOYED.memoryMb;
/** PROJECT. ingestTimeout in serverless.yml; the model keeps a batch within half of it. */
export const INGEST_TIMEOUT_S = DEPLOYED.timeoutS;
export const INGEST_DURATION_BUDGET_FRACTION = 0.5;

export type WriteDesign = 'append' | 'lock';

/**
 * PROJECT. A pipe-mode record whose file Snowpipe has not loaded yet is made visible again after 60 s,
 * then 120 s, 240 s, 480 s, 900 s (ChangeMessageVisibility from the ingest function,
 * shared/ingest/batch.ts pendingDelaySeconds), rather than after the queue's visibility timeout. LIMIT:
 * every delivery counts toward the queue's maxReceiveCount (5), so a file Snowpipe has not loaded within
 * 60 + 120 + 240 + 480 s = 15 min of its hand-off reaches the DLQ ("Using dead-letter queues",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html);
 * `npm run redrive` finishes it.
 */
export const PENDING_DELAYS_S = [60, 120, 240, 480, 900] as const;

/** How many Snowflake statements a batch of one dataset runs, and which of them hold a lock. */
export interface HotPath {
  /** COPY mode, one COPY (one more per 1,000 files above the first). */
  copyStatements: number;
  /** Of those, the statements inside the transaction that holds the dataset lock (0: no lock). */
  lockHoldStatements: number;
  /** Pipe mode, the delivery that hands the files to Snowpipe: statements besides one REFRESH per file. */
  pipeHandOffStatements: number;
  /** Pipe mode: how long that delivery follows COPY_HISTORY before leaving the files to a redelivery. */
  pipeWaitS: number;
  /** Pipe mode, the delivery that finds the files landed and writes them. */
  pipeFinishStatements: number;
  /** Pipe mode: how long a handed-off file's record stays away before its next delivery, s. */
  pipeRedeliveryS: number;
}

/**
 * PROJECT. The two hot paths.
 *
 * `lock`, the path before the rewrite (shared/ingest/snowflake-loader.ts, since removed): triage,
 * COPY, landed summary, rejected lines, then one transaction of 10 round trips (lock row UPDATE, triage,
 * clear previous, insert transactions, insert items, counts, delete landed lines, ledger rows,
 * begin/commit), so a batch holds the lock for 10 round trips plus its parse. Pipe mode: triage, one
 * COPY_HISTORY read, a REFRESH per file, COPY_HISTORY polls for up to 20 s (pipeWaitMs, 5 polls); files
 * still pending return to the queue and the next delivery finishes them (triage, COPY_HISTORY, the two
 * checks and the 10-statement transaction).
 *
 * `append`, the path that replaced it (shared/ingest/flow.ts with shared/ingest/landing/stage.ts):
 * triage (one ledger read), one COPY into the landing table, one read of the landed lines' counts,
 * BEGIN, one multi-table INSERT ALL through the dataset's JavaScript table function, one count query,
 * one ledger INSERT, COMMIT: 8 statements (a snapshot dataset reads the live snapshot too), none of
 * them an UPDATE, DELETE or MERGE, so no lock is held across batches or keys
 * (test/driver/snowflake-ingest.test.ts counts them against the executing fake). Pipe mode: the hand-off
 * delivery runs triage, the landed-lines read, one COPY_HISTORY read and the pending ledger events
 * (BEGIN, INSERT, COMMIT) besides a REFRESH per file; the record comes back after
 * PENDING_DELAYS_S[0]; the finishing delivery runs triage, the landed-lines read, COPY_HISTORY, BEGIN,
 * INSERT ALL, count, ledger INSERT, COMMIT. Replaced rows are deleted by a weekly compaction beside the
 * rebuild.
 */
export const HOT_PATHS: Record<WriteDesign, HotPath> = {
  lock: {
    copyStatements: 14,
    lockHoldStatements: 10,
    pipeHandOffStatements: 2 + 5,
    pipeWaitS: 20,
    pipeFinishStatements: 14,
    // a still-pending file failed its record, which came back after the visibility timeout
    pipeRedeliveryS: DEPLOYED.visibilityTimeoutS,
  },
  append: {
    copyStatements: 8,
    lockHoldStatements: 0,
    pipeHandOffStatements: 6,
    pipeWaitS: 0,
    pipeFinishStatements: 8,
    pipeRedeliveryS: PENDING_DELAYS_S[0],
  },
};
/** PROJECT. HEAD requests in flight per batch (mapLimit(..., 8) in shared/ingest/landing/stage.ts). */
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
/**
 * The model keeps the warehouse, its statement slots and (old design) the lock busy at most this
 * fraction of the day: headroom for bursts, and where a queue's waits start to grow quickly.
 */
export const WAREHOUSE_TARGET_UTILISATION = 0.7;
/** Batch sizes the model tries (largest first), bounded by the COPY file limit. */
export const BATCH_SIZE_CANDIDATES = [1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1];

// ----------------------------------------------------------------------------------------------
// The weekly rebuild and the compaction
// ----------------------------------------------------------------------------------------------

/**
 * ASSUMPTION. How many times a rebuild reads the whole raw history: the three table models
 * (sql/models/marts: customer_product_purchases_monthly, customers, next_best_category) each read the
 * transaction staging views over all history, and the data tests (sql/tests, e.g. the items
 * reconciliation) about once more. Each read is costed at AGGREGATE_CREDITS_PER_GB. Calibrate:
 * QUERY_HISTORY of a rebuild run (the transform role), credits per GB of raw data.
 */
export const REBUILD_PASSES_OVER_RAW = 4;
/**
 * ASSUMPTION. The append design's weekly compaction (DELETE of the rows a newer version replaced)
 * reads the raw tables once more and rewrites the partitions it touches: one more pass. It runs beside
 * the rebuild, so the model counts it inside the rebuild's invocation.
 */
export const COMPACTION_PASSES_OVER_RAW = 1;
/** PROJECT. Days of raw data a rebuild reads when the caller does not say (a year). */
export const DEFAULT_HISTORY_DAYS = 365;
/** PROJECT. The rebuild function's timeout (serverless.yml functions.rebuild.timeout); the model keeps a rebuild within this fraction. */
export const REBUILD_TIMEOUT_S = DEPLOYED.rebuildTimeoutS;
export const REBUILD_DURATION_BUDGET_FRACTION = 0.8;

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
export const TRANSFER_MEMORY_MB = DEPLOYED.memoryMb;
/** The model keeps a transfer invocation within this fraction of the 15-minute limit. */
export const TRANSFER_DURATION_BUDGET_FRACTION = 0.8;
/** PROJECT. Multipart part size of the part writer (shared/publish, 8 MiB) and parts open at once. */
export const PART_BYTES = 8 * 1024 * 1024;
