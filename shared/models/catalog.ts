/**
 * Model discovery. A model is one file `sql/models/<layer>/<name>.sql`: its schema comes from the
 * layer folder (`staging/` -> `staging`, `marts/` -> `analytics`), its name from the file, and its
 * header states the grain and the materialisation:
 *
 *     -- grain: one row per customer in the customers snapshot
 *     -- materialized: table            (or: view)
 *
 * Dependencies are not declared: they are the other models the SQL names (`staging.stg_customers`),
 * found after comments and string literals are removed. Declared lists drift from the SQL; the
 * references cannot.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors';
import { isIdentifier } from '../warehouse/identifiers';
import { sqlRoot } from '../paths';

export type Materialization = 'view' | 'table';

export interface ModelDef {
  /** `schema.table`, lower case. */
  name: string;
  schema: string;
  table: string;
  /** Path relative to the models folder, for messages. */
  file: string;
  materialized: Materialization;
  grain: string;
  /** The SQL as written (placeholders not yet rendered). */
  sql: string;
  /** Names of the models this one reads, sorted. */
  dependsOn: string[];
}

/** Layer folder -> warehouse schema. */
export const LAYER_SCHEMAS: Readonly<Record<string, string>> = { staging: 'staging', marts: 'analytics' };

export function modelsDir(): string {
  return path.join(sqlRoot(), 'models');
}

/** `-- key: value` lines of the leading comment block. */
export function parseHeader(sql: string): Record<string, string> {
  const header: Record<string, string> = {};
  for (const line of sql.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('--')) break;
    const m = /^--\s*([a-z_]+)\s*:\s*(.*)$/i.exec(trimmed);
    if (m && header[(m[1] as string).toLowerCase()] === undefined) header[(m[1] as string).toLowerCase()] = (m[2] as string).trim();
  }
  return header;
}

/** The SQL with comments and string literals blanked, for reference scanning. */
export function stripCommentsAndStrings(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
}

/** Every `schema.table` the SQL names, lower-cased (includes aliases like `items.price`; filter by known models). */
export function qualifiedReferences(sql: string): Set<string> {
  const refs = new Set<string>();
  const re = /\b([a-z_][a-z0-9_$]*)\s*\.\s*([a-z_][a-z0-9_$]*)\b/gi;
  for (const m of stripCommentsAndStrings(sql).matchAll(re)) refs.add(`${m[1]}.${m[2]}`.toLowerCase());
  return refs;
}

interface ModelSource {
  file: string;
  sql: string;
}

/** Parse model sources into definitions with dependencies, validating headers and names. */
export function parseModels(sources: ModelSource[]): ModelDef[] {
  const partial = sources.map(({ file, sql }) => {
    const parts = file.split(/[\\/]/);
    if (parts.length !== 2) throw new InvalidInputError(`model ${file}: expected <layer>/<name>.sql`);
    const [layer, base] = parts as [string, string];
    const schema = LAYER_SCHEMAS[layer];
    if (!schema) {
      throw new InvalidInputError(`model ${file}: unknown layer folder ${JSON.stringify(layer)}; known: ${Object.keys(LAYER_SCHEMAS).join(', ')}`);
    }
    const table = base.replace(/\.sql$/i, '').toLowerCase();
    if (!isIdentifier(table) || table.endsWith('__next')) {
      throw new InvalidInputError(`model ${file}: the file name must be an identifier (letters, digits, _) not ending in __next`);
    }
    const header = parseHeader(sql);
    const materialized = header.materialized;
    if (materialized !== 'view' && materialized !== 'table') {
      throw new InvalidInputError(`model ${file}: header needs "-- materialized: view" or "-- materialized: table"`);
    }
    if (!header.grain) throw new InvalidInputError(`model ${file}: header needs "-- grain: one row per ..."`);
    if (!/\bselect\b/i.test(stripCommentsAndStrings(sql))) throw new InvalidInputError(`model ${file}: no select statement`);
    return { name: `${schema}.${table}`, schema, table, file, materialized, grain: header.grain, sql } as const;
  });
  const names = new Map<string, string>();
  for (const m of partial) {
    const other = names.get(m.name);
    if (other) throw new InvalidInputError(`models ${other} and ${m.file} both define ${m.name}`);
    names.set(m.name, m.file);
  }
  return partial.map((m) => {
    const deps = [...qualifiedReferences(m.sql)].filter((r) => names.has(r) && r !== m.name).sort();
    if (qualifiedReferences(m.sql).has(m.name)) throw new InvalidInputError(`model ${m.file} reads itself (${m.name})`);
    return { ...m, dependsOn: deps };
  });
}

/** Dependencies first; among models that are ready together, by name (a stable, readable order). */
export function dependencyOrder(models: ModelDef[]): ModelDef[] {
  const byName = new Map(models.map((m) => [m.name, m]));
  const waiting = new Map(models.map((m) => [m.name, new Set(m.dependsOn.filter((d) => byName.has(d)))]));
  const ordered: ModelDef[] = [];
  while (waiting.size > 0) {
    const ready = [...waiting].filter(([, deps]) => deps.size === 0).map(([name]) => name).sort();
    if (ready.length === 0) {
      throw new InvalidInputError(`models depend on each other in a cycle: ${[...waiting.keys()].sort().join(', ')}`);
    }
    for (const name of ready) {
      waiting.delete(name);
      ordered.push(byName.get(name) as ModelDef);
      for (const deps of waiting.values()) deps.delete(name);
    }
  }
  return ordered;
}

/** Read every `*.sql` under the models folder, in dependency order. */
export function loadModels(dir = modelsDir()): ModelDef[] {
  if (!fs.existsSync(dir)) throw new InvalidInputError(`models folder not found: ${dir}`);
  const sources: ModelSource[] = [];
  for (const layer of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!layer.isDirectory()) continue;
    for (const entry of fs.readdirSync(path.join(dir, layer.name))) {
      if (!entry.endsWith('.sql')) continue;
      sources.push({ file: `${layer.name}/${entry}`, sql: fs.readFileSync(path.join(dir, layer.name, entry), 'utf8') });
    }
  }
  if (sources.length === 0) throw new InvalidInputError(`no models in ${dir}`);
  return dependencyOrder(parseModels(sources));
}
