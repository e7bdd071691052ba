/**
 * Structured logging. In Lambda (and with LOG_FORMAT=json) every line is one JSON object, which
 * CloudWatch Logs Insights can query; on a terminal it is one readable line.
 *
 * Metrics use CloudWatch embedded metric format (EMF) in AWS: a JSON log line with an `_aws` block.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
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

function render(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export function createLogger(base: Fields = {}): Logger {
  const write = (level: Level, msg: string, fields: Fields = {}): void => {
    if (ORDER[level] < threshold()) return;
    const all = { ...base, ...fields };
    if (jsonMode()) {
      sink(JSON.stringify({ level, time: new Date().toISOString(), msg, ...all }, replacer), level);
    } else {
      const time = new Date().toISOString().slice(11, 23);
      const rest = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${render(v)}`)
        .join(' ');
      sink(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${rest ? ' ' + rest : ''}`, level);
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }),
    metrics: (namespace, values, dimensions = {}) => {
      if (!jsonMode()) return; // metrics are for CloudWatch; the readable log already has the numbers
      const payload = {
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [Object.keys(dimensions)],
              Metrics: Object.keys(values).map((name) => ({ Name: name })),
            },
          ],
        },
        ...dimensions,
        ...values,
      };
      sink(JSON.stringify(payload), 'info');
    },
  };
}

export const logger = createLogger();
