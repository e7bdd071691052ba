import path from 'node:path';

/**
 * Output of the original Python generator (137 customers, 3 months ending 2020-01-01), unchanged,
 * copied from the handbook's fixtures so the repository tests stand alone (bytes kept: .gitattributes).
 */
export const ORIGINAL_FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'original-generator-3m');
