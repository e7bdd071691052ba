/**
 * Structured logging and metrics. In Lambda (and with LOG_FORMAT=json) the lines come from Powertools
 * for AWS Lambda (TypeScript): its Logger writes one JSON object per line (`level`, `message`,
 * `timestamp`, `service`, and the fields), which CloudWatch Logs Insights queries; its Metrics writes
 * CloudWatch embedded metric format (EMF). On a terminal a line is one readable text line, as before.
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/metrics/
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * The rest of the code sees only this module's `Logger` (child, debug/info/warn/error, metrics): a thin
 * wrapper, so callers do not depend on Powertools. Every line, JSON or text, goes through one sink
 * (`setLogSink`): the CLIs keep stdout for their results and the tests read the lines.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
  metrics(namespace: string, values: Record<string, number>, dimensions?: Record<string, string>): void;
}

const SERVICE = 'shopping-patterns';

function jsonMode(): boolean {
  if (process.env.LOG_FORMAT) return process.env.LOG_FORMAT === 'json';
  return Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);
}

function threshold(): number {
  const level = (process.env.LOG_LEVEL ?? 'info').toLowerCase() as Level;
  return ORDER[level] ?? ORDER.info;
}

/** Where log lines go. Replaceable so a CLI can keep stdout for results only. */
export type Sink = (line: string, level: Level) => void;
let sink: Sink = (line) => process.stderr.write(line + '\n');

export function setLogSink(next: Sink): void {
  sink = next;
}

/**
 * The console Powertools writes its lines to, pointed at the sink. Both Logger and Metrics print every
 * line through their `console` property (a node:console Console on stdout/stderr by default, the global
 * console with POWERTOOLS_DEV); replacing it keeps one sink for every line.
 */
const sinkConsole = {
  debug: (line: string) => sink(line, 'debug'),
  info: (line: string) => sink(line, 'info'),
  log: (line: string) => sink(line, 'info'),
  warn: (line: string) => sink(line, 'warn'),
  error: (line: string) => sink(line, 'error'),
  trace: (line: string) => sink(line, 'debug'),
} as unknown as Console;

function routed<T extends object>(instance: T): T {
  (instance as unknown as { console: Console }).console = sinkConsole;
  return instance;
}

function render(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

export function createLogger(base: Fields = {}): Logger {
  let json: PowertoolsLogger | undefined;
  // the threshold is ours (LOG_LEVEL, read per line), so Powertools writes whatever it is given
  const powertools = (): PowertoolsLogger => {
    json ??= routed(new PowertoolsLogger({ serviceName: SERVICE, logLevel: 'DEBUG', persistentKeys: base }));
    return json;
  };
  const write = (level: Level, msg: string, fields: Fields = {}): void => {
    if (ORDER[level] < threshold()) return;
    if (jsonMode()) {
      const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      powertools()[level](msg, defined);
      return;
    }
    const time = new Date().toISOString().slice(11, 23);
    const rest = Object.entries({ ...base, ...fields })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${render(v)}`)
      .join(' ');
    sink(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${rest ? ' ' + rest : ''}`, level);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }),
    metrics: (namespace, values, dimensions = {}) => {
      if (!jsonMode()) return; // metrics are for CloudWatch; the readable log already has the numbers
      const metrics = routed(new Metrics({ namespace, serviceName: SERVICE }));
      // Only the dimensions the caller names: Powertools adds `service` by default, which would change
      // the identity of every metric the alarms in serverless.yml watch.
      metrics.clearDefaultDimensions();
      for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
      for (const [name, value] of Object.entries(values)) metrics.addMetric(name, MetricUnit.NoUnit, value);
      metrics.publishStoredMetrics();
    },
  };
}

export const logger = createLogger();
