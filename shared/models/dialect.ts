/**
 * What the models need that is not plain SQL, on top of the warehouse dialect (shared/warehouse/dialect.ts),
 * which holds every engine difference (one model, two dialects),
 * so the models themselves stay portable and there is never a second copy of a model.
 *
 * Names passed in are validated model names (`schema.table`, identifiers only); they are written
 * unquoted, which both engines resolve case-insensitively (Snowflake as upper case), exactly like
 * the unquoted names inside the model SQL.
 */
import { assertIdentifier } from '../warehouse/identifiers';
import type { Dialect, SwapPlan } from '../warehouse/dialect';

export type { SwapPlan };

export const NEXT_SUFFIX = '__next';

export interface QualifiedName {
  schema: string;
  table: string;
}

export function qualified(name: QualifiedName): string {
  return `${assertIdentifier(name.schema, 'schema')}.${assertIdentifier(name.table, 'table')}`;
}

export function nextName(name: QualifiedName): QualifiedName {
  return { schema: name.schema, table: `${name.table}${NEXT_SUFFIX}` };
}

/** Build a table model aside, under `<name>__next`; readers keep seeing the current table meanwhile. */
export function buildAsideStatement(name: QualifiedName, selectSql: string): string {
  return `create or replace table ${qualified(nextName(name))} as\n${selectSql}`;
}

/**
 * Views are replaced in place (atomic on both engines); how a replaced view keeps its grants is the
 * warehouse dialect's business (shared/warehouse/dialect.ts createView).
 */
export function createViewStatement(dialect: Dialect, name: QualifiedName, selectSql: string, replacing = true): string {
  return dialect.createView(qualified(name), selectSql, replacing);
}

/**
 * Replace `<name>` by `<name>__next` atomically: readers see the old table or the new one, never a
 * half-built one and never none (DuckDB: drop + rename in one transaction; Snowflake: SWAP WITH, which
 * also exchanges grants and policies, so the masking policy is attached to `__next` before the swap).
 */
export function swapPlan(dialect: Dialect, name: QualifiedName): SwapPlan {
  return dialect.swapPlan(qualified(name), qualified(nextName(name)), assertIdentifier(name.table));
}

/** Attach the partner masking policy to a column of a freshly built relation, where the engine has them. */
export function attachMaskingPolicyStatement(
  dialect: Dialect,
  relation: QualifiedName,
  kind: 'table' | 'view',
  column: string,
  policy: QualifiedName,
): string | undefined {
  return dialect.maskColumn(kind, qualified(relation), assertIdentifier(column, 'column'), qualified(policy));
}
