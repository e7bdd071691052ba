/**
 * Where the project's files are, wherever the code runs from:
 *   - the source tree (tsx, jest): `sql/` is two levels above this file;
 *   - `sls invoke local`: the code is one bundle under `.esbuild/.build/` and the working directory
 *     may be that folder, so the project root is found by walking up to `serverless.yml`;
 *   - Lambda: `sql/**` is packaged at the task root (serverless.yml `package.patterns`).
 */
import fs from 'node:fs';
import path from 'node:path';

let root: string | undefined;
let sql: string | undefined;

/** The folder holding serverless.yml, searched upwards from the working directory (else the cwd). */
export function projectRoot(): string {
  if (root) return root;
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'serverless.yml')) && fs.existsSync(path.join(dir, 'package.json'))) return (root = dir);
    if (path.dirname(dir) === dir) return (root = process.cwd());
  }
}

export function sqlRoot(): string {
  if (sql) return sql;
  const candidates = [
    path.join(__dirname, '..', 'sql'),
    process.env.LAMBDA_TASK_ROOT && path.join(process.env.LAMBDA_TASK_ROOT, 'sql'),
    path.join(projectRoot(), 'sql'),
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => fs.existsSync(path.join(p, 'models')));
  if (!found) throw new Error(`sql folder with models/ not found; looked in: ${candidates.join(', ')}`);
  sql = found;
  return found;
}
