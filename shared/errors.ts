/**
 * Named errors under one base, split by the only question a retrying caller asks:
 * transient (retry: network, throttling, 5xx) or terminal (do not retry: bad input, bad config).
 * Engine and SDK errors are mapped in exactly one place: `classifyError`.
 */
export abstract class PipelineError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Retry later: network, throttling, 5xx, lock contention. */
export class TransientError extends PipelineError {
  readonly retryable = true;
}

/** Never succeeds on retry: bad input, unknown table, permissions. */
export class TerminalError extends PipelineError {
  readonly retryable = false;
}

export class ConfigError extends TerminalError {}

/** A file that cannot be read at all (corrupt gzip, binary): its SQS record fails and ends in the DLQ. */
export class UnreadableFileError extends TerminalError {}

/** User input (a table name, an option) rejected before any SQL runs. */
export class InvalidInputError extends TerminalError {}

/** A step that does not exist yet says so instead of faking success. */
export class NotImplementedError extends TerminalError {}

const TRANSIENT_NODE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const TRANSIENT_AWS_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'InternalError',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
]);

/**
 * snowflake-sdk's own error codes (numbers) that a later attempt can get past, with the driver's name for
 * each. The source of truth is the driver: node_modules/snowflake-sdk/dist/lib/error_code.js (names) and
 * lib/constants/error_messages.js (messages); Snowflake's documentation lists none of them.
 * test/unit/snowflake-errors.test.ts checks every entry against the installed driver.
 *
 * Not here, on purpose: 403001 is ERR_GLOBAL_CONFIGURE_INVALID_LOG_LEVEL ("Invalid logLevel"), a
 * configuration mistake that no retry fixes; the 404xxx codes are invalid connection options.
 */
export const TRANSIENT_SNOWFLAKE_CODES: ReadonlyMap<number, string> = new Map([
  [401001, 'ERR_SF_NETWORK_COULD_NOT_CONNECT'], // could not reach Snowflake
  // 401002 ERR_SF_RESPONSE_FAILURE (any non-200 answer) is decided by its HTTP status: see isTransient
  [401003, 'ERR_SF_RESPONSE_NOT_JSON'], // an empty answer: the transport failed, not the statement
  [401004, 'ERR_SF_RESPONSE_INVALID_TOKEN'], // HTTP 401 with 390104: a new session will do
  [402001, 'ERR_LARGE_RESULT_SET_NETWORK_COULD_NOT_CONNECT'], // could not reach the result chunks' storage
  [402002, 'ERR_LARGE_RESULT_SET_RESPONSE_FAILURE'], // chunk download failed; a rerun gets fresh chunk URLs
  [405503, 'ERR_CONN_CONNECT_STATUS_DISCONNECTED'], // connect on a terminated connection: a new one will do
  [407002, 'ERR_CONN_REQUEST_STATUS_DISCONNECTED'], // request on a terminated connection: a new one will do
]);

/** ERR_SF_RESPONSE_FAILURE: the service answered with an HTTP status other than 200. */
const SNOWFLAKE_RESPONSE_FAILURE = 401002;

/**
 * HTTP statuses that are final whatever their range: Snowflake answers an unknown or malformed account
 * URL with 403, 404 or 513. https://docs.snowflake.com/en/release-notes/bcr-bundles/un-bundled/bcr-1669
 */
const TERMINAL_HTTP_STATUSES = new Set([513]);

/**
 * Snowflake service error codes (strings) that a later attempt can get past: the session ended or
 * expired (390111 GONE_SESSION, 390112 SESSION_TOKEN_EXPIRED, 390114 MASTER_TOKEN_EXPIRED, as the driver
 * names them in lib/constants/gs_errors.js), the statement was cancelled (000604) or hit its statement
 * or queue timeout (000630). They arrive as the error's `code`, next to its SQLSTATE. The documentation
 * has no list of these codes; 000604 and 000630 are taken from the service's own messages ("SQL
 * execution canceled", "Statement reached its statement or warehouse timeout").
 */
const TRANSIENT_SNOWFLAKE_SERVER_CODES = new Set(['390111', '390112', '390114', '000604', '000630']);

/**
 * SQLSTATEs that are transient: 57014 (query canceled: statement timeout, cancellation, lock wait) as
 * the service reports them, and 08003 (connection does not exist), which the driver gives its
 * terminated-connection errors (lib/errors.js mapErrorCodeToSqlState).
 */
const TRANSIENT_SNOWFLAKE_SQLSTATE = new Set(['57014', '08003']);

interface ErrorLike {
  name?: string;
  code?: string | number;
  errno?: number;
  sqlState?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  response?: { status?: number; statusCode?: number };
  message?: string;
  cause?: unknown;
}

/** Map any error to a PipelineError. Already-classified errors pass through. */
export function classifyError(err: unknown): PipelineError {
  if (err instanceof PipelineError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const message = err instanceof Error ? err.message : String(err);
  if (isTransient(e, message)) return new TransientError(message, { cause: err });
  return new TerminalError(message, { cause: err });
}

function isTransient(e: ErrorLike, message: string): boolean {
  if (typeof e.code === 'string' && TRANSIENT_NODE_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode ?? e.response?.status ?? e.response?.statusCode;
  if (status !== undefined && TERMINAL_HTTP_STATUSES.has(status)) return false;
  if (typeof e.code === 'number' && TRANSIENT_SNOWFLAKE_CODES.has(e.code)) return true;
  // the driver has retried 429 and 5xx on its own; a 4xx (bad request, forbidden, not found) stays final
  if (e.code === SNOWFLAKE_RESPONSE_FAILURE) return status === undefined || status === 429 || status >= 500;
  if (typeof e.code === 'string' && TRANSIENT_SNOWFLAKE_SERVER_CODES.has(e.code)) return true;
  if (e.sqlState && TRANSIENT_SNOWFLAKE_SQLSTATE.has(e.sqlState)) return true;
  if (e.name && TRANSIENT_AWS_NAMES.has(e.name)) return true;
  if (e.$retryable) return true;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  // DuckDB: another process holds the write lock; retrying later is the right answer
  if (/Could not set lock on file|Conflicting lock is held/i.test(message)) return true;
  // DuckDB's optimistic concurrency: a concurrent writer touched the same rows; a retry sees its result
  if (/write-write conflict|Conflict on (update|tuple)|Transaction conflict|Duplicate key .* violates primary key/i.test(message))
    return true;
  if (/socket hang up|network error|timed? ?out/i.test(message)) return true;
  if (e.cause && e.cause !== e) return isTransient(e.cause as ErrorLike, '');
  return false;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
