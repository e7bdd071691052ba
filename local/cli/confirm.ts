/**
 * npm run confirm -- KEY [--bucket B] [--version V] [--stage local|dev|prod]
 *
 * Releases a snapshot the ingest guard holds (shared/ops/confirm.ts).
 */
import '../env';
import { parseArgs } from 'node:util';
import { config } from '../../shared/config';
import { confirmHeld } from '../../shared/ops/confirm';
import { warehouse } from '../../shared/warehouse';
import { run, selectStage, UsageError } from './ops-common';

const USAGE = `Usage: npm run confirm -- KEY [options]

Ingest holds a customers/products snapshot that would remove most of the live one (an empty or
header-only file), or that comes from another key than the live one (a stray copy under another
prefix). After checking it, confirm it: it becomes the live snapshot if it is the newest.

Options:
  --bucket BUCKET         default: the landing bucket
  --version VERSION       a held version other than the newest held one of KEY
  --stage local|dev|prod  default local (the running npm start stack)
  -h, --help              show this help

Exit code: 0 confirmed, 2 nothing held under KEY (or it could not run).
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      bucket: { type: 'string' },
      version: { type: 'string' },
      stage: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one KEY');
  selectStage(values.stage);
  const result = await confirmHeld(warehouse(), { bucket: values.bucket ?? config().buckets.landing, key: positionals[0]!, version: values.version });
  process.stdout.write(
    `confirmed s3://${result.bucket}/${result.key} (${result.dataset}, version ${result.version})` +
      `${result.reason ? `\n  it was ${result.reason}` : ''}\n  ${result.live ? 'it is the live snapshot now' : 'a newer snapshot is live: it stays replaced'}\n`,
  );
  await warehouse().close();
  return 0;
}

run('confirm', USAGE, main);
