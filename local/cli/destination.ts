/**
 * npm run destination -- list | show NAME | add NAME ... | remove NAME | verify NAME | policy NAME [--stage S]
 *
 * Destinations are data (shared/delivery/): on AWS stages SSM parameters under
 * /shopping-patterns/<stage>/destinations, locally <LOCAL_DIR>/destinations.json. No deploy is needed
 * to add or remove one. `verify` checks one before its first transfer; on AWS it runs inside the
 * transfer function, the principal that will write. `policy` prints what the stakeholder creates.
 */
import '../env';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { config, resetConfig } from '../../shared/config';
import { ownAccountId } from '../../shared/delivery/client';
import type { Destination } from '../../shared/delivery/destination';
import { lambdaTransferFunction } from '../../shared/delivery/invoke';
import { stakeholderSetup } from '../../shared/delivery/policies';
import { destinationStore } from '../../shared/delivery/store';
import { verifyDestination, type VerifyReport } from '../../shared/delivery/verify';
import { InvalidInputError } from '../../shared/errors';
import { OUTPUT_FORMATS } from '../../shared/publish/types';
import { runningStack } from '../../shared/warehouse/remote';
import { table } from '../format';
import { run, selectStage, UsageError } from './ops-common';

const USAGE = `Usage: npm run destination -- COMMAND [options] [--stage local|dev|prod]

Commands:
  list                       every destination (and any that is invalid, with why)
  show NAME                  one destination as JSON
  add NAME --bucket B --region R --account ACCOUNT_ID (--role-arn ARN [--external-id ID] | --bucket-policy)
           [--kms-key ARN] [--prefix P] [--format ${OUTPUT_FORMATS.join('|')}] [--columns C1,C2]
           [--pseudonymise C1,C2] [--schedule 'cron(0 6 ? * MON *)' --schedule-table T]
           [--description TEXT] [--replace]
                             add one (an external ID is drawn when --external-id is not given)
  add --file FILE [--replace]  add one from its JSON
  remove NAME                remove one (its deliveries so far stay where they are)
  verify NAME                check it before the first transfer: role, external ID, bucket owner,
                             a test object written, listed and removed; exit 1 when something is missing
  policy NAME                the trust, permissions or bucket policy the stakeholder creates

Where: local stage <LOCAL_DIR>/destinations.json (or DESTINATIONS_FILE); AWS stages SSM Parameter
Store under /shopping-patterns/<stage>/destinations (DESTINATIONS_PARAMETER_PATH). docs/TRANSFER.md.
`;

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

function printReport(report: VerifyReport): void {
  for (const c of report.checks) {
    process.stdout.write(`${c.ok ? 'PASS' : 'FAIL'}  ${c.check.padEnd(32)} ${c.detail}\n`);
    if (!c.ok && c.fix) process.stdout.write(`      ${''.padEnd(32)} fix: ${c.fix}\n`);
  }
  process.stdout.write(report.ok ? `\ndestination ${report.destination} is ready\n` : `\ndestination ${report.destination} is not ready\n`);
}

export function destinationFromFlags(name: string, v: Record<string, string | boolean | undefined>): Destination {
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (v['bucket-policy'] && str('role-arn')) throw new UsageError('give --role-arn or --bucket-policy, not both');
  if (!v['bucket-policy'] && !str('role-arn')) throw new UsageError('give --role-arn ARN (a role in their account) or --bucket-policy');
  if (str('schedule') !== undefined && str('schedule-table') === undefined) throw new UsageError('--schedule needs --schedule-table');
  const d: Record<string, unknown> = {
    name,
    description: str('description'),
    bucket: str('bucket'),
    region: str('region'),
    account_id: str('account'),
    access: v['bucket-policy']
      ? { type: 'bucket_policy' }
      : { type: 'assume_role', role_arn: str('role-arn'), external_id: str('external-id') ?? crypto.randomUUID() },
    kms_key_arn: str('kms-key'),
    prefix: str('prefix'),
    format: str('format'),
    columns: list(str('columns')),
    pseudonymise: list(str('pseudonymise')),
    schedule: str('schedule') === undefined ? undefined : { cron: str('schedule'), source_table: str('schedule-table') },
  };
  // the store validates and names every problem
  return Object.fromEntries(Object.entries(d).filter(([, x]) => x !== undefined)) as Destination;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      stage: { type: 'string' },
      bucket: { type: 'string' },
      region: { type: 'string' },
      account: { type: 'string' },
      'role-arn': { type: 'string' },
      'external-id': { type: 'string' },
      'bucket-policy': { type: 'boolean' },
      'kms-key': { type: 'string' },
      prefix: { type: 'string' },
      format: { type: 'string' },
      columns: { type: 'string' },
      pseudonymise: { type: 'string' },
      schedule: { type: 'string' },
      'schedule-table': { type: 'string' },
      description: { type: 'string' },
      file: { type: 'string' },
      replace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, name] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const stage = selectStage(values.stage, { buckets: false });
  if (stage === 'local') {
    // the running stack's S3 and STS, wherever it listens (npm start, the demo, a test)
    const stack = runningStack(config().localDir);
    if (stack) {
      process.env.S3_ENDPOINT = stack.s3Endpoint;
      if (stack.stsEndpoint) process.env.STS_ENDPOINT = stack.stsEndpoint;
      resetConfig();
    }
  }
  const cfg = config();
  const store = destinationStore(cfg);
  const needName = () => {
    if (!name) throw new UsageError(`${command} needs a destination NAME`);
    return name;
  };
  switch (command) {
    case 'list': {
      const { destinations, invalid } = await store.list();
      process.stdout.write(`${store.where}\n`);
      process.stdout.write(
        table(
          ['name', 'bucket', 'account', 'access', 'prefix', 'schedule'],
          destinations.map((d) => ({
            name: d.name,
            bucket: d.bucket,
            account: d.account_id,
            access: d.access.type === 'assume_role' ? d.access.role_arn : 'bucket policy',
            prefix: d.prefix ?? 'transfer',
            schedule: d.schedule ? `${d.schedule.cron} ${d.schedule.source_table}` : '',
          })),
        ),
      );
      for (const bad of invalid) process.stdout.write(`INVALID ${bad.name}: ${bad.error}\n`);
      return invalid.length ? 1 : 0;
    }
    case 'show': {
      const d = await store.get(needName());
      if (!d) throw new InvalidInputError(`no destination named ${name} (${store.where})`);
      process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
      return 0;
    }
    case 'add': {
      let d: Destination;
      if (values.file) {
        d = JSON.parse(fs.readFileSync(values.file, 'utf8')) as Destination;
        if (name && d.name !== name) throw new UsageError(`the file names destination ${d.name}, not ${name}`);
      } else d = destinationFromFlags(needName(), values);
      await store.put(d, { replace: values.replace === true });
      process.stdout.write(`added ${d.name} (${store.where})\n`);
      if (d.access.type === 'assume_role') process.stdout.write(`external ID: ${d.access.external_id}\n`);
      process.stdout.write(`next: npm run destination -- policy ${d.name}   (what the stakeholder creates), then verify ${d.name}\n`);
      return 0;
    }
    case 'remove': {
      const removed = await store.remove(needName());
      process.stdout.write(removed ? `removed ${name} (${store.where})\n` : `no destination named ${name} (${store.where})\n`);
      return removed ? 0 : 1;
    }
    case 'verify': {
      const report =
        stage === 'local'
          ? await verifyDestination(needName(), { config: cfg, store })
          : ((await lambdaTransferFunction(cfg.delivery.transferFunction, cfg.region).call({
              action: 'verify',
              destination: needName(),
            })) as VerifyReport);
      printReport(report);
      return report.ok ? 0 : 1;
    }
    case 'policy': {
      const d = await store.get(needName());
      if (!d) throw new InvalidInputError(`no destination named ${name} (${store.where})`);
      const ours = { accountId: await ownAccountId(cfg), stage: cfg.stage, region: cfg.region };
      for (const part of stakeholderSetup(ours, d)) process.stdout.write(`# ${part.title}\n${JSON.stringify(part.document, null, 2)}\n\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

if (require.main === module) run('destination', USAGE, main);
