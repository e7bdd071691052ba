/**
 * What the ops CLIs (replay, redrive, reconcile, report) share: stage selection before any config
 * is read, log lines on stderr (stdout carries the result), and one way to end.
 */
import { errorMessage } from '../../shared/errors';
import { setLogSink } from '../../shared/logger';
import { applyStageDefaults } from '../../shared/ops/target';

export const STAGES = ['local', 'dev', 'prod'] as const;

/**
 * Select the stage (--stage, else STAGE, else local) before anything reads the configuration.
 * `buckets: false`: the command touches no bucket (see applyStageDefaults).
 */
export function selectStage(flag: string | undefined, opts: { buckets?: boolean } = {}): string {
  const stage = flag ?? process.env.STAGE ?? 'local';
  if (!(STAGES as readonly string[]).includes(stage)) {
    throw new UsageError(`--stage must be one of ${STAGES.join(', ')}, got ${JSON.stringify(stage)}`);
  }
  applyStageDefaults(stage, process.env, opts);
  setLogSink((line) => process.stderr.write(line + '\n'));
  return stage;
}

export class UsageError extends Error {}

/** Exit codes: 0 ok, 1 the command found a problem (documented per command), 2 it could not run. */
export function run(name: string, usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${usage}`);
      else process.stderr.write(`${name} failed: ${errorMessage(err)}\n`);
      process.exit(2);
    },
  );
}

export function positiveNumber(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`${flag} must be a non-negative number, got ${JSON.stringify(text)}`);
  return n;
}
