/**
 * npm run compact -- [--stage local|dev|prod]
 *
 * Deletes the raw rows no view can show any more (shared/ingest/compact.ts). The weekly rebuild does
 * this after it publishes; run it by hand after a large backfill.
 */
import '../env';
import { parseArgs } from 'node:util';
import { defaultRegistry } from '../../shared/datasets';
import { compact } from '../../shared/ingest/compact';
import { warehouse } from '../../shared/warehouse';
import { run, selectStage } from './ops-common';

const USAGE = `Usage: npm run compact -- [--stage local|dev|prod]

Deletes the rows of replaced, superseded and duplicate loads from the raw layer (what is live, held
or in the last rebuild's cut stays), and on Snowflake the landed lines older than 65 days.
`;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stage: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  selectStage(values.stage);
  const report = await compact(warehouse(), defaultRegistry);
  for (const [table, n] of Object.entries(report.deleted)) process.stdout.write(`${table.padEnd(24)} ${n} rows deleted\n`);
  await warehouse().close();
  return 0;
}

run('compact', USAGE, main);
