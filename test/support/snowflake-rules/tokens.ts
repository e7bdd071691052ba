/**
 * A small Snowflake SQL tokenizer for the checks the parser cannot make (statement kinds it does not
 * know, SHOW ... IN). It knows what hides a word from being a keyword or an identifier:
 * https://docs.snowflake.com/en/sql-reference/data-types-text#string-constants (single-quoted strings
 * with '' and backslash escapes; $$ ... $$ dollar-quoted strings, no escapes inside),
 * https://docs.snowflake.com/en/sql-reference/identifiers-syntax (double-quoted identifiers, "" for a
 * quote; unquoted identifiers start with a letter or _ and go on with letters, digits, _ and $), and
 * comments (-- and // to the end of the line, /* ... *\/).
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct' | 'variable';

export interface Token {
  kind: TokenKind;
  /** Words upper-cased (how Snowflake resolves them); quoted identifiers and strings as written. */
  value: string;
  /** Offset of the token in the statement. */
  at: number;
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if ((c === '-' && next === '-') || (c === '/' && next === '/')) {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "'") {
      const start = i++;
      let value = '';
      while (i < n) {
        const d = sql[i] as string;
        if (d === '\\' && i + 1 < n) {
          value += sql[i + 1];
          i += 2;
        } else if (d === "'" && sql[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      tokens.push({ kind: 'string', value, at: start });
    } else if (c === '$' && next === '$') {
      const end = sql.indexOf('$$', i + 2);
      tokens.push({ kind: 'string', value: sql.slice(i + 2, end < 0 ? n : end), at: i });
      i = end < 0 ? n : end + 2;
    } else if (c === '"') {
      const start = i++;
      let value = '';
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (sql[i] === '"') {
          i++;
          break;
        } else value += sql[i++];
      }
      tokens.push({ kind: 'quoted', value, at: start });
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_$]/.test(sql[i] as string)) i++;
      tokens.push({ kind: 'word', value: sql.slice(start, i).toUpperCase(), at: start });
    } else if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      const start = i;
      while (i < n && /[0-9.eE]/.test(sql[i] as string)) i++;
      tokens.push({ kind: 'number', value: sql.slice(start, i), at: start });
    } else if (c === '$' || (c === ':' && next !== undefined && /[A-Za-z_]/.test(next))) {
      // $1 (a staged file's column), $name / :name (variables)
      const start = i++;
      while (i < n && /[A-Za-z0-9_]/.test(sql[i] as string)) i++;
      tokens.push({ kind: 'variable', value: sql.slice(start, i), at: start });
    } else {
      const two = sql.slice(i, i + 2);
      const op = ['::', '=>', '->', '<=', '>=', '<>', '!=', '||'].includes(two) ? two : c;
      tokens.push({ kind: 'punct', value: op, at: i });
      i += op.length;
    }
  }
  return tokens;
}

/** The statement's words, for matching its kind: `kindOf('create or replace function ...')`. */
export function leadingWords(tokens: Token[], count: number): string {
  return tokens
    .slice(0, count)
    .filter((t) => t.kind === 'word')
    .map((t) => t.value)
    .join(' ');
}
