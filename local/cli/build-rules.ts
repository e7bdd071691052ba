/**
 * npm run build:rules: bundle the ingest rules (shared/ingest/rules/judge.ts) for Snowflake's table
 * functions into sql/snowflake/generated/rules.js (see shared/ingest/rules/bundle.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../shared/paths';
import { BUNDLE_FILE, buildRulesBundle } from '../../shared/ingest/rules/bundle';

async function main(): Promise<void> {
  const file = path.join(projectRoot(), BUNDLE_FILE);
  const code = await buildRulesBundle();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  fs.writeFileSync(file, code);
  process.stdout.write(`${BUNDLE_FILE}: ${code.length} bytes${before === code ? ' (unchanged)' : ''}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`build:rules failed: ${err.message}\n`);
  process.exit(1);
});
