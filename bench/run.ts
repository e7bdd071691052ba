/**
 * `npm run bench -- <name> [options]`: runs bench/<name>.ts, a module that exports `run(argv)`.
 * Benchmarks are loaded on demand, so one that is missing or broken does not stop the others.
 */
import '../local/env';

const BENCHMARKS: Record<string, { file: string; about: string }> = {
  ingest: { file: './ingest', about: 'event-driven ingest vs one bulk DuckDB read of the same files' },
  transfer: {
    file: './transfer',
    about: 'transfer_data: monthly aggregation streamed to the exports bucket',
  },
  load: {
    file: './load',
    about: 'steady streams at increasing rates until the knee (throughput, queue depth, lag)',
  },
  hostile: {
    file: './hostile',
    about: 'peak RSS of the stack ingesting hostile files (gzip bombs, huge lines) against a ceiling',
  },
};

function usage(): string {
  return [
    'usage: npm run bench -- <name> [options]',
    '',
    ...Object.entries(BENCHMARKS).map(([n, b]) => `  ${n.padEnd(10)} ${b.about}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage() + '\n');
    return;
  }
  const bench = BENCHMARKS[name];
  if (!bench) throw new Error(`unknown benchmark ${JSON.stringify(name)}\n${usage()}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(bench.file) as { run?: (argv: string[]) => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts does not export run(argv)`);
  await mod.run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`bench failed: ${err.message}\n`);
    process.exit(1);
  });
}
