/**
 * Data tests: one file per test in `sql/tests/`, a query that returns the failing rows (an empty
 * result is a pass), with a header:
 *
 *     -- severity: error          (or warn; may be a placeholder such as {{ freshness_severity }})
 *     -- description: what a failing row means
 *
 * The file is rendered with the same placeholders as the models before its header is read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors';
import { parseHeader } from '../models/catalog';
import { sqlRoot } from '../paths';
import { defaultTemplateContext, render, templateValues, type Severity, type TemplateContext } from '../models/template';
import { isIdentifier } from '../warehouse/identifiers';

export interface DataTest {
  name: string;
  severity: Severity;
  description: string;
  /** Rendered SQL, without a trailing semicolon. */
  sql: string;
}

export function testsDir(): string {
  return path.join(sqlRoot(), 'tests');
}

export function parseDataTest(file: string, text: string, values: Record<string, string>): DataTest {
  const name = path.basename(file).replace(/\.sql$/i, '');
  if (!isIdentifier(name)) throw new InvalidInputError(`data test ${file}: the file name must be an identifier`);
  const sql = render(text, values, `sql/tests/${file}`).trim().replace(/;\s*$/, '');
  const header = parseHeader(sql);
  const severity = header.severity;
  if (severity !== 'warn' && severity !== 'error') {
    throw new InvalidInputError(`data test ${file}: header needs "-- severity: warn" or "-- severity: error", found ${JSON.stringify(severity)}`);
  }
  if (sql.includes(';')) {
    // one query per test: a `;` would end the wrapped subquery the runner builds around it
    const withoutComments = sql.replace(/'(?:[^']|'')*'|--[^\n]*/g, '');
    if (withoutComments.includes(';')) throw new InvalidInputError(`data test ${file}: one query per file, no ';' inside`);
  }
  return { name, severity, description: header.description ?? '', sql };
}

export function loadDataTests(dir = testsDir(), context: TemplateContext = defaultTemplateContext()): DataTest[] {
  if (!fs.existsSync(dir)) throw new InvalidInputError(`data tests folder not found: ${dir}`);
  const values = templateValues(context);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  if (files.length === 0) throw new InvalidInputError(`no data tests in ${dir}`);
  return files.map((f) => parseDataTest(f, fs.readFileSync(path.join(dir, f), 'utf8'), values));
}
