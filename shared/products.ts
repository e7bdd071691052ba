/**
 * The single source of the product catalogue and its categories. The generator, the models
 * (one `<category>_amount` column per category), the accepted-values data test and the docs all
 * read this list, so a category cannot exist in one place and be missing in another (the
 * `KeyError: 'bws'` of the original generator came from two lists drifting apart).
 */
export const CATEGORIES = ['house', 'clothes', 'fruit_veg', 'sweets', 'food', 'bws'] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * How often each category is picked, relative to the others (integers; they need not sum to 100).
 * These are the original generator's `products_cats_frequency` counts. Keyed by Category, so a
 * category missing here (or an extra one) is a compile error: the original generator's `KeyError: 'bws'` cannot recur.
 */
export const CATEGORY_FREQUENCY: Readonly<Record<Category, number>> = {
  house: 15,
  clothes: 5,
  fruit_veg: 25,
  sweets: 20,
  food: 25,
  bws: 10,
};

export interface Product {
  productId: string;
  description: string;
  category: Category;
}

/** The catalogue of the original generator (test/fixtures/original-generator-3m/products.csv). */
export const PRODUCTS: readonly Product[] = [
  { productId: 'P01', description: 'detergent', category: 'house' },
  { productId: 'P02', description: 'kitchen roll', category: 'house' },
  { productId: 'P03', description: 'bin liners', category: 'house' },
  { productId: 'P04', description: 'shower gel', category: 'house' },
  { productId: 'P05', description: 'scented candles', category: 'house' },
  { productId: 'P06', description: 'fabric softener', category: 'house' },
  { productId: 'P07', description: 'cling film', category: 'house' },
  { productId: 'P08', description: 'aluminium foil', category: 'house' },
  { productId: 'P09', description: 'toilet paper', category: 'house' },
  { productId: 'P10', description: 'kitchen knife', category: 'house' },
  { productId: 'P11', description: 'dishwasher tablets', category: 'house' },
  { productId: 'P12', description: 'ice pack', category: 'house' },
  { productId: 'P13', description: "men's dark green trousers", category: 'clothes' },
  { productId: 'P14', description: "women's shoes", category: 'clothes' },
  { productId: 'P15', description: 'jumper', category: 'clothes' },
  { productId: 'P16', description: "men's belt", category: 'clothes' },
  { productId: 'P17', description: "women's black socks", category: 'clothes' },
  { productId: 'P18', description: "men's striped socks", category: 'clothes' },
  { productId: 'P19', description: "men's trainers", category: 'clothes' },
  { productId: 'P20', description: "women's blouse", category: 'clothes' },
  { productId: 'P21', description: "women's red dress", category: 'clothes' },
  { productId: 'P22', description: 'avocado', category: 'fruit_veg' },
  { productId: 'P23', description: 'cherries', category: 'fruit_veg' },
  { productId: 'P24', description: 'scotch bonnets', category: 'fruit_veg' },
  { productId: 'P25', description: 'peppers', category: 'fruit_veg' },
  { productId: 'P26', description: 'broccoli', category: 'fruit_veg' },
  { productId: 'P27', description: 'potatoes', category: 'fruit_veg' },
  { productId: 'P28', description: 'grapes', category: 'fruit_veg' },
  { productId: 'P29', description: 'easy peeler', category: 'fruit_veg' },
  { productId: 'P30', description: 'mango', category: 'fruit_veg' },
  { productId: 'P31', description: 'lemon grass', category: 'fruit_veg' },
  { productId: 'P32', description: 'onions', category: 'fruit_veg' },
  { productId: 'P33', description: 'apples', category: 'fruit_veg' },
  { productId: 'P34', description: 'raspberries', category: 'fruit_veg' },
  { productId: 'P35', description: 'carrot cake', category: 'sweets' },
  { productId: 'P36', description: 'salted caramel dark chocolate', category: 'sweets' },
  { productId: 'P37', description: 'gummy bears', category: 'sweets' },
  { productId: 'P38', description: 'kombucha', category: 'sweets' },
  { productId: 'P39', description: 'ice cream', category: 'sweets' },
  { productId: 'P40', description: 'irn bru', category: 'sweets' },
  { productId: 'P41', description: 'steak', category: 'food' },
  { productId: 'P42', description: 'chicken', category: 'food' },
  { productId: 'P43', description: 'mince beef', category: 'food' },
  { productId: 'P44', description: 'milk', category: 'food' },
  { productId: 'P45', description: 'hummus', category: 'food' },
  { productId: 'P46', description: 'activated charcoal croissant', category: 'food' },
  { productId: 'P47', description: 'whole chicken', category: 'food' },
  { productId: 'P48', description: 'tuna', category: 'food' },
  { productId: 'P49', description: 'smoked salmon', category: 'food' },
  { productId: 'P50', description: 'camembert', category: 'food' },
  { productId: 'P51', description: 'pizza', category: 'food' },
  { productId: 'P52', description: 'oats', category: 'food' },
  { productId: 'P53', description: 'peanut butter', category: 'food' },
  { productId: 'P54', description: 'almond milk', category: 'food' },
  { productId: 'P55', description: 'lentil soup', category: 'food' },
  { productId: 'P56', description: 'greek yoghurt', category: 'food' },
  { productId: 'P57', description: 'parmesan', category: 'food' },
  { productId: 'P58', description: 'coconut water', category: 'food' },
  { productId: 'P59', description: 'chicken stock', category: 'food' },
  { productId: 'P60', description: 'water', category: 'food' },
  { productId: 'P61', description: 'red wine', category: 'bws' },
  { productId: 'P62', description: 'gin', category: 'bws' },
  { productId: 'P63', description: 'cognac', category: 'bws' },
  { productId: 'P64', description: 'cigarettes', category: 'bws' },
];
