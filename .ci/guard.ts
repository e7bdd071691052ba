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
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { applySuppressions, formatReport, scan } from './lib/guard';
import { packageService, type CfnTemplate } from './lib/sls-package';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { template: { type: 'string' }, stage: { type: 'string', default: 'dev' } },
  });
  let templatePath = values.template;
  let template: CfnTemplate;
  let packagedDir: string | undefined;
  if (templatePath) {
    template = JSON.parse(fs.readFileSync(templatePath, 'utf8')) as CfnTemplate;
  } else {
    process.stdout.write(`packaging the service (stage ${values.stage}) ...\n`);
    const packaged = await packageService({ stage: values.stage });
    packagedDir = packaged.outDir;
    templatePath = packaged.templatePath;
    template = packaged.template;
  }
  try {
    const report = applySuppressions(scan(templatePath), template);
    process.stdout.write(
      `${values.template ?? `serverless.yml, stage ${values.stage}`}\n${formatReport(report)}\n`,
    );
    return report.failures.length === 0 && report.problems.length === 0 ? 0 : 1;
  } finally {
    if (packagedDir) fs.rmSync(packagedDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`scan:guard failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
