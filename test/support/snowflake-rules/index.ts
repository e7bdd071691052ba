/** Checks of Snowflake statements against Snowflake's documentation (see ./rules.ts). */
export { Catalog, renderedMigrations, type TableDecl } from './catalog';
export { checkStatement, formatViolation, initRules, parseSnowflake, RULES, type Rule, type Violation } from './rules';
export { RESERVED_KEYWORDS, RESERVED_KEYWORDS_URL } from './reserved-keywords';
