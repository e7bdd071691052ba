/**
 * npm run scan:guard [-- --template PATH] [-- --stage dev]
 *
 * Packages the service offline (unless a template is given), scans the CloudFormation template with
 * cfn-guard and the AWS Control Tower proactive-control rules, applies the justified suppressions
 * declared in resource metadata (.ci/lib/guard.ts), and exits non-zero on any unsuppressed finding or
 * any malformed, unknown or unused suppression.
 *
 * The update-stack template is the one scanned: it is the whole stack. The create-stack template osls
 * also writes holds only the deployment bucket as osls first creates it, which the first update replaces.
 */
import { parseArgs } from 'node:util';
import { applySuppressions, formatReport, scan } from './lib/guard';
import { packageService, type CfnTemplate } from './lib/sls-package';
import fs from 'node:fs';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { template: { type: 'string' }, stage: { type: 'string', default: 'dev' } },
  });
  let templatePath = values.template;
  let template: CfnTemplate;
  if (templatePath) {
    template = JSON.parse(fs.readFileSync(templatePath, 'utf8')) as CfnTemplate;
  } else {
    process.stdout.write(`packaging the service (stage ${values.stage}) ...\n`);
    const packaged = await packageService({ stage: values.stage });
    templatePath = packaged.templatePath;
    template = packaged.template;
  }
  const report = applySuppressions(scan(templatePath), template);
  process.stdout.write(`${templatePath}\n${formatReport(report)}\n`);
  return report.failures.length === 0 && report.problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`scan:guard failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
