/**
 * The few named placeholders that portable SQL (models and data tests) may use. Deliberately not a
 * template engine: `{{ name }}` is replaced by a value computed here from one typed context, an
 * unknown name is an error, and every value is unit-tested as text.
 *
 * The category list comes from `CATEGORIES` in shared/products.ts (one list, one place); this is
 * how the models get one `<category>_amount` column per category and the data tests the accepted
 * values without a second copy of the list.
 */
import { CATEGORIES } from '../products';
import { config } from '../config';
import { InvalidInputError } from '../errors';
import { assertIdentifier, quoteLiteral } from '../warehouse/identifiers';

export type Severity = 'warn' | 'error';

export interface TemplateContext {
  categories: readonly string[];
  freshness: { maxAgeHours: number; severity: Severity };
}

export function defaultTemplateContext(): TemplateContext {
  const cfg = config();
  return { categories: CATEGORIES, freshness: { ...cfg.freshness } };
}

/**
 * The placeholders. Expressions that aggregate (`category_amount_columns`) expect the columns
 * `product_category` and `price` to be in scope; `category_amount_names` and `category_amount_sum`
 * name the columns it produces.
 */
export type PlaceholderName =
  | 'accepted_categories'
  | 'category_values'
  | 'category_amount_columns'
  | 'category_amount_names'
  | 'category_amount_sum'
  | 'freshness_max_age_minutes'
  | 'freshness_max_age_hours'
  | 'freshness_severity';

export function templateValues(ctx: TemplateContext): Record<PlaceholderName, string> {
  if (ctx.categories.length === 0) throw new InvalidInputError('the category list is empty');
  const categories = ctx.categories.map((c) => assertIdentifier(c, 'category'));
  const amountColumn = (c: string) => `${c}_amount`;
  if (!(ctx.freshness.maxAgeHours > 0)) {
    throw new InvalidInputError(`freshness max age must be a positive number of hours, got ${ctx.freshness.maxAgeHours}`);
  }
  return {
    accepted_categories: categories.map(quoteLiteral).join(', '),
    category_values: categories.map((c) => `(${quoteLiteral(c)})`).join(', '),
    category_amount_columns: categories
      .map(
        (c) =>
          `sum(case when product_category = ${quoteLiteral(c)} then price else 0 end)::decimal(38, 2) as ${amountColumn(c)}`,
      )
      .join(',\n        '),
    category_amount_names: categories.map(amountColumn).join(',\n        '),
    category_amount_sum: categories.map(amountColumn).join(' + '),
    // whole minutes: both engines accept `interval '<n> minutes'`
    freshness_max_age_minutes: String(Math.round(ctx.freshness.maxAgeHours * 60)),
    freshness_max_age_hours: String(ctx.freshness.maxAgeHours),
    freshness_severity: ctx.freshness.severity,
  };
}

const PLACEHOLDER = /\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}/gi;

/** Replace every `{{ name }}`; `source` names the file in the error for an unknown placeholder. */
export function render(sql: string, values: Record<string, string>, source = 'SQL'): string {
  const unknown = new Set<string>();
  const out = sql.replace(PLACEHOLDER, (match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      unknown.add(name);
      return match;
    }
    return value;
  });
  if (unknown.size > 0) {
    throw new InvalidInputError(
      `${source}: unknown placeholder ${[...unknown].map((n) => `{{ ${n} }}`).join(', ')}; ` +
        `known: ${Object.keys(values).sort().join(', ')}`,
    );
  }
  const stray = /\{\{|\}\}/.exec(out);
  if (stray) throw new InvalidInputError(`${source}: malformed placeholder near ${JSON.stringify(out.slice(stray.index, stray.index + 30))}`);
  return out;
}
