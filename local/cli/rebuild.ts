/**
 * npm run rebuild -- [--no-publish] [--snapshot-date YYYY-MM-DD] [--pseudonymise] [--stage local|dev|prod]
 *
 * Builds the models, runs the data tests and publishes the weekly export when no `error` test
 * failed: the same code as functions/rebuild. Prints the report on stdout; exits 1 when publishing
 * was withheld, so scripts can tell.
 */
import '../env';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../shared/errors';
import { rebuild } from '../../shared/rebuild';
import { warehouse } from '../../shared/warehouse';

const USAGE = `Usage: npm run rebuild -- [options]

Builds the models, runs the data tests, publishes the export when no error-severity test failed.

Options:
  --no-publish              build and test only
  --snapshot-date DATE      YYYY-MM-DD of the export path            default today (UTC)
  --pseudonymise            HMAC customer_id in the export (needs EXPORT_SALT locally)
  --stage local|dev|prod    default local
  -h, --help                show this help
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'no-publish': { type: 'boolean', default: false },
      'snapshot-date': { type: 'string' },
      pseudonymise: { type: 'boolean' },
      stage: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.stage) process.env.STAGE = values.stage;
  const wh = warehouse();
  try {
    const result = await rebuild({
      warehouse: wh,
      publish: !values['no-publish'],
      snapshotDate: values['snapshot-date'],
      pseudonymise: values.pseudonymise,
    });
    process.stdout.write(`${result.report}\n`);
    return result.status === 'withheld' ? 1 : 0;
  } finally {
    await wh.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`rebuild failed: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
