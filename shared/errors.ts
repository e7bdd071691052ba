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
 * Snowflake driver error codes that are worth a retry (network, 5xx, timeouts).
 * https://docs.snowflake.com/en/developer-guide/node-js/nodejs-driver-error-codes
 */
const TRANSIENT_SNOWFLAKE_CODES = new Set([
  401001, // network error: could not connect
  401002, // request failed with a 5xx
  401003, // request timed out
  401004, // session token rejected: a new session will do
  402001, // response error (5xx)
  402002, // error response with a bad status
  403001, // error from the query backend (retryable)
  405503, // connect on a connection that went down: a new connection will do
  407002, // request on a disconnected connection: a new connection will do
]);

/**
 * Snowflake service error codes (strings) that a later attempt can get past: the session ended or
 * expired (390111, 390112, 390114), the statement was cancelled (000604) or hit its statement or
 * queue timeout (000630). They arrive as the error's `code`, next to its SQLSTATE.
 */
const TRANSIENT_SNOWFLAKE_SERVER_CODES = new Set(['390111', '390112', '390114', '000604', '000630']);

/**
 * Snowflake SQL error codes that are transient: statement queued or cancelled due to resource limits,
 * warehouse suspended while resuming, lock wait timeouts.
 */
const TRANSIENT_SNOWFLAKE_SQLSTATE = new Set(['57014', '57P01', '08001', '08003', '08006', '40001']);

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
  if (typeof e.code === 'number' && TRANSIENT_SNOWFLAKE_CODES.has(e.code)) return true;
  if (typeof e.code === 'string' && TRANSIENT_SNOWFLAKE_SERVER_CODES.has(e.code)) return true;
  if (e.sqlState && TRANSIENT_SNOWFLAKE_SQLSTATE.has(e.sqlState)) return true;
  if (e.name && TRANSIENT_AWS_NAMES.has(e.name)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode ?? e.response?.status ?? e.response?.statusCode;
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
