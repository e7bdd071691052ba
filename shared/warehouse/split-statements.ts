/**
 * Split a SQL script into statements at top-level semicolons. Used where a script must run one
 * statement at a time (Snowflake runs one statement per request unless MULTI_STATEMENT_COUNT is
 * changed, and `migrate --dry-run` prints them one by one).
 *
 * Semicolons do not split inside: 'string literals' (with '' and backslash escapes, as Snowflake
 * reads them), "quoted identifiers", $$dollar-quoted bodies$$ (UDF code), -- line comments and
 * block comments. Chunks holding only comments and whitespace are dropped; a statement keeps its
 * leading comments so a printed statement still says what it is for.
 * https://docs.snowflake.com/en/sql-reference/data-types-text#string-constants
 */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  const push = (end: number) => {
    const text = script.slice(start, end).trim();
    if (text && stripComments(text).trim()) out.push(text);
    start = end + 1;
  };
  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === "'") {
      i++;
      while (i < n) {
        if (script[i] === '\\') i += 2;
        else if (script[i] === "'" && script[i + 1] === "'") i += 2;
        else if (script[i] === "'") break;
        else i++;
      }
      i++;
    } else if (c === '"') {
      i = script.indexOf('"', i + 1);
      if (i === -1) i = n;
      i++;
    } else if (c === '$' && next === '$') {
      const end = script.indexOf('$$', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === ';') {
      push(i);
      i++;
    } else {
      i++;
    }
  }
  push(n);
  return out;
}

/** The statement without comments (outside literals), for emptiness checks and matching. */
export function stripComments(sql: string): string {
  return sql
    .replace(/('(?:\\.|''|[^'\\])*')|("[^"]*")|(\$\$[\s\S]*?\$\$)|--[^\n]*|\/\*[\s\S]*?\*\//g, (m, s, q, d) => s ?? q ?? d ?? ' ')
    .trim();
}
