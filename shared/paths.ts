/**
 * Where the `sql/` folder is. From the source tree it is two levels up; in a Lambda bundle the
 * code is one file under `.esbuild/` and `sql/**` is packaged at the task root (serverless.yml
 * `package.patterns`), so the task root and the working directory are tried too.
 */
import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

export function sqlRoot(): string {
  if (cached) return cached;
  const candidates = [
    path.join(__dirname, '..', '..', 'sql'),
    process.env.LAMBDA_TASK_ROOT && path.join(process.env.LAMBDA_TASK_ROOT, 'sql'),
    path.join(process.cwd(), 'sql'),
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => fs.existsSync(path.join(p, 'models')));
  if (!found) throw new Error(`sql folder with models/ not found; looked in: ${candidates.join(', ')}`);
  cached = found;
  return found;
}
