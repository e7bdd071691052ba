/**
 * The documented distributions of the sample data: those of the original Python generator
 * (`input_data_generator/data_generator.py`; a sample of its output is in
 * test/fixtures/original-generator-3m/). See docs/data-generator.md for the full description.
 *
 * - Customers `C1..Cn`, loyalty score uniform in 1..10.
 * - Each customer buys on a fixed number of distinct days, chosen uniformly among
 *   floor(span / d) for d in FREQUENCY_DIVISORS, where span is the number of days from the first to
 *   the last day (a customer never buys twice on one day).
 * - Each customer prefers k categories, k uniform in 1..number of categories: k draws without
 *   replacement from a pool in which each category appears CATEGORY_FREQUENCY times (so a customer
 *   may hold a popular category twice, which doubles its share of their baskets).
 * - A basket holds 1..3 items (uniform), all from one category picked uniformly among the
 *   customer's k; products uniform within the category (repeats allowed); prices uniform integers
 *   1..2000.
 * - Purchase time: the day plus a uniform whole minute in 168..1439, i.e. 02:48 to 23:59.
 */
import {
  CATEGORIES,
  CATEGORY_FREQUENCY,
  PRODUCTS,
  type Category,
  type Product,
} from '../../shared/products';
import { InvalidInputError } from '../../shared/errors';

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

export const LOYALTY_SCORE: IntRange = { min: 1, max: 10 };
export const BASKET_SIZE: IntRange = { min: 1, max: 3 };
export const PRICE: IntRange = { min: 1, max: 2000 };
/** Minutes after midnight: 168 is 02:48, 1439 is 23:59 (the original's randint(168, 1439)). */
export const PURCHASE_MINUTE: IntRange = { min: 168, max: 1439 };
/** A customer buys on floor(span / d) days, d one of these, chosen uniformly. */
export const FREQUENCY_DIVISORS: readonly number[] = [14, 10, 7, 5, 4, 3];

/** The number of purchase days a customer may have, for a period spanning `spanDays` days. */
export function frequencyChoices(spanDays: number): number[] {
  return FREQUENCY_DIVISORS.map((d) => Math.floor(spanDays / d));
}

/**
 * The weighted pool customers draw their preferred categories from: category indices (into
 * CATEGORIES), each repeated CATEGORY_FREQUENCY times. Fails loudly if the weights or the catalogue
 * do not cover the categories (the drift behind the original generator's KeyError cannot pass silently).
 */
export function categoryPool(
  frequency: Readonly<Record<Category, number>> = CATEGORY_FREQUENCY,
  products: readonly Product[] = PRODUCTS,
): Uint8Array {
  const pool: number[] = [];
  CATEGORIES.forEach((category, index) => {
    const weight = frequency[category];
    if (!Number.isInteger(weight) || weight < 0) {
      throw new InvalidInputError(
        `category frequency of ${category} must be a non-negative integer, got ${weight}`,
      );
    }
    if (weight > 0 && !products.some((p) => p.category === category)) {
      throw new InvalidInputError(
        `category ${category} has frequency ${weight} but no products in the catalogue`,
      );
    }
    for (let i = 0; i < weight; i++) pool.push(index);
  });
  if (pool.length < CATEGORIES.length) {
    throw new InvalidInputError(
      `category frequencies must add up to at least ${CATEGORIES.length} (one draw per category), got ${pool.length}`,
    );
  }
  return Uint8Array.from(pool);
}

/** Product ids per category, indexed like CATEGORIES, in catalogue order. */
export function productsByCategory(products: readonly Product[] = PRODUCTS): string[][] {
  return CATEGORIES.map((category) =>
    products.filter((p) => p.category === category).map((p) => p.productId),
  );
}
