/**
 * A progress bar on stderr, only when stderr is a terminal: piped or CI output stays clean and
 * stdout stays free for results.
 */
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  start(total: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

const silent: Progress = { start() {}, update() {}, stop() {} };

export function progressBar(format: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return silent;
  const bar = new SingleBar(
    { format, stream, hideCursor: true, clearOnComplete: true, etaBuffer: 50, fps: 10 },
    Presets.shades_classic,
  );
  return {
    start: (total, payload) => bar.start(total, 0, payload),
    update: (value, payload) => bar.update(value, payload),
    stop: () => bar.stop(),
  };
}

/** Print a CLI error the same way everywhere and set a failing exit code. */
export function fail(command: string, err: unknown, usageHint = true): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${command}: ${message}\n`);
  if (usageHint) process.stderr.write(`Run \`npm run ${command} -- --help\` for usage.\n`);
  process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
