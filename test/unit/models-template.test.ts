import { CATEGORIES } from '../../shared/products';
import { InvalidInputError } from '../../shared/errors';
import { render, templateValues, type TemplateContext } from '../../shared/models/template';

const ctx = (over: Partial<TemplateContext> = {}): TemplateContext => ({
  categories: ['house', 'bws'],
  freshness: { maxAgeHours: 24, severity: 'warn' },
  ...over,
});

describe('templateValues', () => {
  it('renders one amount column per category, in list order', () => {
    // Act
    const v = templateValues(ctx());
    // Assess
    expect(v.category_amount_columns).toBe(
      "sum(case when product_category = 'house' then price else 0 end)::decimal(38, 2) as house_amount,\n" +
        "        sum(case when product_category = 'bws' then price else 0 end)::decimal(38, 2) as bws_amount",
    );
    expect(v.category_amount_names).toBe('house_amount,\n        bws_amount');
    expect(v.category_amount_sum).toBe('house_amount + bws_amount');
    expect(v.accepted_categories).toBe("'house', 'bws'");
    expect(v.category_values).toBe("('house'), ('bws')");
  });

  it('covers every category of the single list in shared/products.ts', () => {
    const v = templateValues(ctx({ categories: CATEGORIES }));
    for (const c of CATEGORIES) expect(v.category_amount_names).toContain(`${c}_amount`);
    expect(v.accepted_categories.split(', ')).toHaveLength(CATEGORIES.length);
  });

  it('renders the freshness threshold in whole minutes and the configured severity', () => {
    const v = templateValues(ctx({ freshness: { maxAgeHours: 1.5, severity: 'error' } }));
    expect(v.freshness_max_age_minutes).toBe('90');
    expect(v.freshness_max_age_hours).toBe('1.5');
    expect(v.freshness_severity).toBe('error');
  });

  it('rejects a category that is not an identifier (it becomes a column name)', () => {
    expect(() => templateValues(ctx({ categories: ["fruit'veg"] }))).toThrow(InvalidInputError);
    expect(() => templateValues(ctx({ categories: [] }))).toThrow(/empty/);
  });

  it('rejects a non-positive freshness threshold', () => {
    expect(() => templateValues(ctx({ freshness: { maxAgeHours: 0, severity: 'warn' } }))).toThrow(/positive/);
  });
});

describe('render', () => {
  it('replaces placeholders with or without inner spaces', () => {
    expect(render('a {{ x }} b {{y}}', { x: '1', y: '2' })).toBe('a 1 b 2');
  });

  it('names the file and the unknown placeholder', () => {
    expect(() => render('select {{ nope }}', { x: '1' }, 'sql/models/a.sql')).toThrow(
      'sql/models/a.sql: unknown placeholder {{ nope }}; known: x',
    );
  });

  it('rejects a malformed placeholder instead of passing braces to the warehouse', () => {
    expect(() => render('select {{ x', { x: '1' }, 'f.sql')).toThrow(/malformed placeholder/);
  });
});
