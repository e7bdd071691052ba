/**
 * Builds the models in dependency order. Views are created or replaced (atomic on both engines);
 * tables are built aside under `<name>__next` and swapped in (./dialect.ts), so a reader never sees
 * a half-built table and a failed build leaves the previous table in place.
 */
import { classifyError, errorMessage } from '../errors';
import { logger as rootLogger, type Logger } from '../logger';
import type { Warehouse } from '../warehouse/port';
import { loadModels, type Materialization, type ModelDef } from './catalog';
import {
  attachMaskingPolicyStatement,
  buildAsideStatement,
  createViewStatement,
  nextName,
  qualified,
  swapPlan,
  type QualifiedName,
} from './dialect';
import { defaultTemplateContext, render, templateValues, type TemplateContext } from './template';

export interface BuiltModel {
  name: string;
  materialized: Materialization;
  /** Rows in the table after the swap; views are not counted (that would run them). */
  rows: number | undefined;
  ms: number;
}

export class ModelBuildError extends Error {
  constructor(
    readonly model: string,
    readonly built: BuiltModel[],
    cause: unknown,
  ) {
    super(`model ${model} failed: ${errorMessage(cause)}`, { cause });
    this.name = 'ModelBuildError';
  }
}

/** Snowflake: the partner masking policy, attached to every `customer_id` of the analytics tables. */
export const MASKING = {
  policy: { schema: 'analytics', table: 'customer_id_mask' } as QualifiedName,
  column: 'customer_id',
  schemas: ['analytics'],
};

export interface BuildOptions {
  models?: ModelDef[];
  context?: TemplateContext;
  logger?: Logger;
}

/** Render every model's SQL (placeholders filled) without running it: for dry runs and tests. */
export function renderModels(models: ModelDef[], context: TemplateContext = defaultTemplateContext()) {
  const values = templateValues(context);
  return models.map((m) => ({ model: m, sql: render(m.sql, values, `sql/models/${m.file}`) }));
}

export async function buildModels(wh: Warehouse, options: BuildOptions = {}): Promise<BuiltModel[]> {
  const log = options.logger ?? rootLogger;
  const rendered = renderModels(options.models ?? loadModels(), options.context ?? defaultTemplateContext());
  const existing = await existingRelations(wh, [...new Set(rendered.map((r) => r.model.schema))]);
  const masking = wh.dialect.maskingPolicies ? await maskingPolicyExists(wh, log) : false;
  const built: BuiltModel[] = [];
  for (const { model, sql } of rendered) {
    const started = Date.now();
    const name: QualifiedName = { schema: model.schema, table: model.table };
    try {
      // a model that changed materialisation: the old object of the other kind is in the way
      const current = existing.get(model.name);
      if (current && current !== model.materialized) {
        await wh.execute(`drop ${current} if exists ${qualified(name)}`);
      }
      let rows: number | undefined;
      if (model.materialized === 'view') {
        // views are not masked themselves: a policy on the table column already applies to every
        // view reading it, and a second policy on the view column would mask the masked value again
        await wh.execute(createViewStatement(wh.dialect, name, sql, current === 'view'));
      } else {
        await wh.execute(buildAsideStatement(name, sql));
        if (masking) await attachMasking(wh, nextName(name), 'table');
        const plan = swapPlan(wh.dialect, name);
        if (plan.transactional) {
          await wh.transaction(async (tx) => {
            for (const statement of plan.statements) await tx.execute(statement);
          });
        } else {
          for (const statement of plan.statements) await wh.execute(statement);
        }
        const [count] = await wh.query(`select count(*) as n from ${qualified(name)}`);
        rows = Number(count ? Object.values(count)[0] : 0);
      }
      const ms = Date.now() - started;
      built.push({ name: model.name, materialized: model.materialized, rows, ms });
      log.info('model built', { model: model.name, materialized: model.materialized, rows, ms });
    } catch (err) {
      log.error('model failed', { model: model.name, error: errorMessage(err) });
      throw new ModelBuildError(model.name, built, classifyError(err));
    }
  }
  return built;
}

/** `schema.table` -> 'table' | 'view' for the relations that exist now in the given schemas. */
async function existingRelations(wh: Warehouse, schemas: string[]): Promise<Map<string, Materialization>> {
  if (schemas.length === 0) return new Map();
  const rows = await wh.query(
    `select table_schema, table_name, table_type from information_schema.tables
      where lower(table_schema) in (${schemas.map(() => 'lower(?)').join(', ')})`,
    schemas,
  );
  const out = new Map<string, Materialization>();
  for (const row of rows) {
    const r = lowerKeys(row);
    const type = String(r.table_type ?? '').toUpperCase();
    const kind: Materialization | undefined = type === 'VIEW' ? 'view' : type.includes('TABLE') ? 'table' : undefined;
    if (kind) out.set(`${String(r.table_schema).toLowerCase()}.${String(r.table_name).toLowerCase()}`, kind);
  }
  return out;
}

async function maskingPolicyExists(wh: Warehouse, log: Logger): Promise<boolean> {
  const rows = await wh.query(
    `show masking policies like '${MASKING.policy.table.toUpperCase()}' in schema ${MASKING.policy.schema}`,
  );
  if (rows.length === 0) {
    log.warn('masking policy not found; partner masking is not attached (apply sql/snowflake/90_masking_policy.sql)', {
      policy: qualified(MASKING.policy),
    });
  }
  return rows.length > 0;
}

async function attachMasking(wh: Warehouse, relation: QualifiedName, kind: Materialization): Promise<void> {
  if (!MASKING.schemas.includes(relation.schema)) return;
  const columns = await wh.describeTable({ schema: relation.schema, table: relation.table });
  if (!columns.some((c) => c.name.toLowerCase() === MASKING.column)) return;
  const statement = attachMaskingPolicyStatement(wh.dialect, relation, kind, MASKING.column, MASKING.policy);
  if (statement) await wh.execute(statement);
}

export function lowerKeys<T extends Record<string, unknown>>(row: T): Record<string, T[keyof T]> {
  const out: Record<string, T[keyof T]> = {};
  for (const [k, v] of Object.entries(row)) out[k.toLowerCase()] = v as T[keyof T];
  return out;
}
