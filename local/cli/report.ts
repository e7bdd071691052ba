/**
 * npm run report -- [--out FILE] [--days N] [--stage local|dev|prod]
 *
 * Writes the run report, one self-contained HTML page (shared/ops/report/): open it in a browser,
 * no server needed. Locally it reads through the running stack, or the DuckDB file when none runs.
 */
import '../env';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { config } from '../../shared/config';
import { readReportData, writeReport } from '../../shared/ops/report';
import { warehouse } from '../../shared/warehouse';
import { positiveNumber, run, selectStage } from './ops-common';

const USAGE = `Usage: npm run report -- [options]

Writes a self-contained HTML run report: freshness and arrival-to-build lag, live rows per dataset,
loads per day (files, rows loaded, quarantined, failed), open failures, quarantine reasons, the
latest data-test results, recent rebuild runs, and charts of purchases per month and per category.

Options:
  --out FILE              where to write it (default <LOCAL_DIR>/report.html, i.e. .local/report.html)
  --days N                days of load history (default 60)
  --dry-run               read the numbers and print a summary, write nothing
  --stage local|dev|prod  default local
  -h, --help              show this help
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      days: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      stage: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const stage = selectStage(values.stage);
  const days = positiveNumber('--days', values.days, 60);
  const cfg = config();
  const out = path.resolve(values.out ?? path.join(cfg.localDir, 'report.html'));
  const wh = warehouse();
  try {
    const options = { stage, days, freshnessMaxAgeHours: cfg.freshness.maxAgeHours };
    if (values['dry-run']) {
      const data = await readReportData(wh, options);
      process.stdout.write(
        `[dry run] would write ${out}: ${data.totals.length} datasets, ${data.days.length} load days, ` +
          `${data.failures.length} open failures, ${data.months.length} months, ${data.categories.length} categories\n`,
      );
      return 0;
    }
    const { file, bytes } = await writeReport(wh, { ...options, out });
    process.stdout.write(
      `report written: ${file} (${(bytes / 1024).toFixed(1)} KiB)\nopen it in a browser: file://${file}\n`,
    );
    return 0;
  } finally {
    await wh.close();
  }
}

run('report', USAGE, main);
