/**
 * Documented Snowflake constructs the independent parser (@polyglot-sql/sdk 0.12) cannot read, and
 * what the checks do instead. Only used when the parser refuses a statement as sent.
 *
 * Two kinds of handling:
 *
 * - Statement kinds the parser does not know at all get a check of their own, from the documented
 *   syntax: CREATE FUNCTION with a JavaScript handler (the clause order of the syntax block, so COPY
 *   GRANTS after LANGUAGE is refused) and GRANT <privileges> ON ... TO ROLE.
 * - A documented clause the parser does not know inside a statement it otherwise reads is cut out or
 *   replaced by an equivalent form, each cut-out part is parsed on its own where it is SQL, and the
 *   rest goes to the parser: DESC (for DESCRIBE), CREATE SCHEMA ... WITH MANAGED ACCESS, a qualified
 *   table function with OVER (...) inside TABLE(...), DELETE ... USING (<query>), COPY INTO <location>
 *   ... PARTITION BY <expr>. Identifiers hidden by a rewrite are checked from the tokens.
 *
 * A statement neither the parser nor a handler here reads fails `snowflake-syntax`: add the construct
 * here, with its documentation link, when Snowflake documents it.
 */
import type { IdentifierPlace } from './reserved-keywords';
import { RULES, type Rule } from './rule-list';
import type { Token } from './tokens';

export interface GapIdentifier {
  name: string;
  place: IdentifierPlace;
}

export interface GapProblem {
  rule?: Rule;
  message: string;
}

export interface GapResult {
  name: string;
  url: string;
  /** SQL for the parser (the statement rewritten, and parts cut out of it). */
  pieces: string[];
  identifiers: GapIdentifier[];
  problems: GapProblem[];
}

export function parserGap(sql: string, tokens: Token[]): GapResult | undefined {
  const words = tokens.filter((t) => t.kind === 'word').slice(0, 6).map((t) => t.value);
  const fn = words.indexOf('FUNCTION');
  if (words[0] === 'CREATE' && fn > 0 && words.slice(1, fn).every((w) => ['OR', 'REPLACE', 'TEMP', 'TEMPORARY', 'SECURE'].includes(w))) {
    return createFunction(tokens);
  }
  if (words[0] === 'GRANT') return grant(tokens);
  if (words[0] === 'DESC' || words[0] === 'DESCRIBE') return describe(tokens);
  if (words[0] === 'LIST' || words[0] === 'LS') return list(sql);
  if (words[0] === 'CREATE' || words[0] === 'ALTER') {
    const object = objectDdl(sql, tokens);
    if (object) return object;
  }
  return rewrite(sql);
}

// ------------------------------------------------------------------ token cursor

class Cursor {
  i = 0;
  constructor(readonly tokens: Token[]) {}
  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  isWord(...values: string[]): boolean {
    const t = this.peek();
    return t?.kind === 'word' && values.includes(t.value);
  }
  isPunct(value: string): boolean {
    const t = this.peek();
    return t?.kind === 'punct' && t.value === value;
  }
  /** Consume the words in order if they are next; true when they were. */
  take(...values: string[]): boolean {
    for (let k = 0; k < values.length; k++) {
      const t = this.peek(k);
      if (t?.kind !== 'word' || t.value !== values[k]) return false;
    }
    this.i += values.length;
    return true;
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  done(): boolean {
    return this.i >= this.tokens.length || (this.i === this.tokens.length - 1 && this.isPunct(';'));
  }
  describe(): string {
    const t = this.peek();
    return t ? (t.kind === 'string' ? 'a string' : JSON.stringify(t.value)) : 'the end of the statement';
  }
  /** A (possibly dotted) object name; its unquoted parts are identifiers. */
  name(place: IdentifierPlace, into: GapIdentifier[]): boolean {
    const first = this.peek();
    if (first?.kind !== 'word' && first?.kind !== 'quoted') return false;
    for (;;) {
      const t = this.next() as Token;
      if (t.kind === 'word') into.push({ name: t.value, place });
      if (!this.isPunct('.') || !['word', 'quoted'].includes(this.peek(1)?.kind ?? '')) return true;
      this.i++;
    }
  }
  /** Skip a balanced ( ... ), returning the tokens inside; undefined when no ( is next. */
  parens(): Token[] | undefined {
    if (!this.isPunct('(')) return undefined;
    const start = ++this.i;
    let depth = 1;
    while (this.i < this.tokens.length && depth > 0) {
      const t = this.next() as Token;
      if (t.kind === 'punct' && t.value === '(') depth++;
      if (t.kind === 'punct' && t.value === ')') depth--;
    }
    return this.tokens.slice(start, this.i - 1);
  }
}

/** Split the tokens of a parenthesised list at its top-level commas. */
function splitList(tokens: Token[]): Token[][] {
  const items: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'punct' && t.value === '(') depth++;
    if (t.kind === 'punct' && t.value === ')') depth--;
    if (depth === 0 && t.kind === 'punct' && t.value === ',') items.push([]);
    else (items[items.length - 1] as Token[]).push(t);
  }
  return items.filter((i) => i.length > 0);
}

// ------------------------------------------------------------------ CREATE FUNCTION (JavaScript)

const CREATE_FUNCTION_URL = RULES.createFunctionOrder.url;

/**
 * The JavaScript handler syntax of https://docs.snowflake.com/en/sql-reference/sql/create-function,
 * clause by clause and in this order:
 *
 *   CREATE [ OR REPLACE ] [ { TEMP | TEMPORARY } ] [ SECURE ] FUNCTION <name> (
 *       [ <arg_name> <arg_data_type> [ DEFAULT <default_value> ] ] [ , ... ] )
 *     [ COPY GRANTS ]
 *     RETURNS { <result_data_type> | TABLE ( <col_name> <col_data_type> [ , ... ] ) }
 *     [ [ NOT ] NULL ]
 *     LANGUAGE JAVASCRIPT
 *     [ { CALLED ON NULL INPUT | { RETURNS NULL ON NULL INPUT | STRICT } } ]
 *     [ { VOLATILE | IMMUTABLE } ]
 *     [ COMMENT = '<string_literal>' ]
 *     AS '<function_definition>'
 *
 * (the definition may be $$-quoted: https://docs.snowflake.com/en/sql-reference/data-types-text#label-dollar-quoted-string-constants).
 * Other handler languages have other clauses; they are refused until their syntax is encoded here.
 */
function createFunction(tokens: Token[]): GapResult {
  const c = new Cursor(tokens);
  const identifiers: GapIdentifier[] = [];
  const problems: GapProblem[] = [];
  const result = (): GapResult => ({ name: 'CREATE FUNCTION (JavaScript handler)', url: CREATE_FUNCTION_URL, pieces: [], identifiers, problems });
  const order = (message: string) => {
    problems.push({ rule: RULES.createFunctionOrder, message });
    return result();
  };
  const misplaced = (expected: string) => {
    if (c.isWord('COPY')) return order(`COPY GRANTS where the documented syntax expects ${expected}: COPY GRANTS belongs right after the argument list, before RETURNS`);
    return order(`expected ${expected}, found ${c.describe()}`);
  };

  c.take('CREATE');
  c.take('OR', 'REPLACE');
  if (!c.take('TEMP')) c.take('TEMPORARY');
  c.take('SECURE');
  c.take('FUNCTION');
  if (!c.name('other', identifiers)) return misplaced('the function name');
  const args = c.parens();
  if (!args) return misplaced('the argument list');
  for (const arg of splitList(args)) if (arg[0]?.kind === 'word') identifiers.push({ name: arg[0].value, place: 'other' });
  c.take('COPY', 'GRANTS');
  if (!c.take('RETURNS')) return misplaced('COPY GRANTS or RETURNS');
  if (c.take('TABLE')) {
    const cols = c.parens();
    if (!cols) return misplaced('( <col_name> <col_data_type>, ... ) after RETURNS TABLE');
    for (const col of splitList(cols)) if (col[0]?.kind === 'word') identifiers.push({ name: col[0].value, place: 'column-name' });
  } else {
    if (c.peek()?.kind !== 'word') return misplaced('the result data type');
    c.next();
    c.parens(); // NUMBER(38, 0), VARCHAR(10)
  }
  if (!c.take('NOT', 'NULL')) c.take('NULL');
  if (!c.take('LANGUAGE')) return misplaced('[ NOT ] NULL or LANGUAGE');
  if (!c.take('JAVASCRIPT')) {
    problems.push({ message: `LANGUAGE ${c.describe()}: only the JavaScript handler syntax is encoded here; add the documented syntax of this language` });
    return result();
  }
  if (!c.take('CALLED', 'ON', 'NULL', 'INPUT') && !c.take('RETURNS', 'NULL', 'ON', 'NULL', 'INPUT')) c.take('STRICT');
  if (!c.take('VOLATILE')) c.take('IMMUTABLE');
  if (c.take('COMMENT')) {
    if (!c.isPunct('=')) return misplaced("= '<string_literal>' after COMMENT");
    c.next();
    if (c.next()?.kind !== 'string') return order("COMMENT = needs a string literal");
  }
  if (!c.take('AS')) return misplaced('[ CALLED ON NULL INPUT | RETURNS NULL ON NULL INPUT | STRICT ] [ VOLATILE | IMMUTABLE ] [ COMMENT = ... ] AS');
  if (c.next()?.kind !== 'string') return order("AS needs the function definition as a string ('...' or $$...$$)");
  if (!c.done()) return order(`nothing may follow the function definition, found ${c.describe()}`);
  return result();
}

// ------------------------------------------------------------------ GRANT

const GRANT_URL = 'https://docs.snowflake.com/en/sql-reference/sql/grant-privilege';

/**
 * GRANT as documented (the parser reads only its simplest forms):
 *   GRANT { <privileges> | ALL [ PRIVILEGES ] } ON <object_type> <object_name> [ ( <arg types> ) ] TO ROLE <role>
 *   GRANT ... ON ALL <object_type_plural> IN { DATABASE <db> | SCHEMA <schema> } TO ROLE <role>
 *   GRANT ... ON FUTURE <object_type_plural> IN { DATABASE <db> | SCHEMA <schema> } TO ROLE <role>
 *   [ WITH GRANT OPTION ]
 * https://docs.snowflake.com/en/sql-reference/sql/grant-privilege
 *   GRANT ROLE <name> TO { ROLE <parent_role> | USER <user> }
 * https://docs.snowflake.com/en/sql-reference/sql/grant-role
 */
function grant(tokens: Token[]): GapResult {
  const c = new Cursor(tokens);
  const identifiers: GapIdentifier[] = [];
  const problems: GapProblem[] = [];
  const result = (): GapResult => ({ name: 'GRANT', url: GRANT_URL, pieces: [], identifiers, problems });
  const fail = (expected: string) => {
    problems.push({ message: `expected ${expected}, found ${c.describe()}` });
    return result();
  };
  c.take('GRANT');
  if (c.take('ROLE')) {
    if (!c.name('other', identifiers)) return fail('a role name');
    if (!c.take('TO')) return fail('TO');
    if (!c.take('ROLE') && !c.take('USER')) return fail('ROLE or USER');
    if (!c.name('other', identifiers)) return fail('a role or user name');
    return c.done() ? result() : fail('the end of the statement');
  }
  // privileges: words and commas up to ON
  let privileges = 0;
  while (!c.done() && !c.isWord('ON')) {
    const t = c.next() as Token;
    if (t.kind === 'word') privileges++;
    else if (!(t.kind === 'punct' && t.value === ',')) return fail('a privilege');
  }
  if (privileges === 0) return fail('a privilege');
  if (!c.take('ON')) return fail('ON');
  const bulk = c.take('ALL') || c.take('FUTURE');
  // object type: one or two words (TABLE, FILE FORMAT, MASKING POLICY, ...) then the name or IN
  const kind: string[] = [];
  while (c.peek()?.kind === 'word' && kind.length < 3) {
    const after = c.peek(1);
    const isKindWord = bulk ? !c.isWord('IN') : after?.kind === 'word' || after?.kind === 'quoted';
    if (!isKindWord) break;
    kind.push((c.next() as Token).value);
  }
  if (kind.length === 0) return fail('an object type');
  if (bulk) {
    if (!c.take('IN')) return fail('IN DATABASE or IN SCHEMA');
    if (!c.take('DATABASE') && !c.take('SCHEMA')) return fail('DATABASE or SCHEMA');
  }
  if (!c.name('other', identifiers)) return fail('an object name');
  c.parens(); // a function's argument types
  if (!c.take('TO')) return fail('TO');
  if (!c.take('ROLE') && !c.take('SHARE') && !c.take('DATABASE', 'ROLE')) return fail('ROLE');
  if (!c.name('other', identifiers)) return fail('a role name');
  c.take('WITH', 'GRANT', 'OPTION');
  return c.done() ? result() : fail('the end of the statement');
}

// ------------------------------------------------------------------ DESCRIBE

/**
 * DESC[RIBE] <object_type> <name>: DESC is the documented abbreviation, and the parser reads neither
 * DESC nor a quoted qualified name here.
 * https://docs.snowflake.com/en/sql-reference/sql/desc-stage, .../desc-table
 */
function describe(tokens: Token[]): GapResult {
  const c = new Cursor(tokens);
  const identifiers: GapIdentifier[] = [];
  const problems: GapProblem[] = [];
  const result = (): GapResult => ({ name: 'DESC[RIBE]', url: 'https://docs.snowflake.com/en/sql-reference/sql/desc-stage', pieces: [], identifiers, problems });
  c.next();
  const kinds = ['STAGE', 'TABLE', 'VIEW', 'FUNCTION', 'PIPE', 'INTEGRATION', 'FILE', 'SCHEMA', 'DATABASE', 'WAREHOUSE', 'USER', 'MASKING'];
  if (!c.isWord(...kinds)) {
    problems.push({ message: `expected an object type after DESC, found ${c.describe()}` });
    return result();
  }
  c.next();
  if (c.isWord('FORMAT', 'POLICY', 'STORAGE')) c.next();
  if (!c.name('table', identifiers)) problems.push({ message: `expected an object name, found ${c.describe()}` });
  else c.parens();
  if (!c.done()) problems.push({ message: `expected the end of the statement, found ${c.describe()}` });
  return result();
}

// ------------------------------------------------------------------ CREATE / ALTER <object> with properties

/**
 * Account and schema objects defined by properties, which the parser keeps as unread text. Each is
 * checked against the shape its page documents:
 *
 *   CREATE [ OR REPLACE ] <kind> [ IF NOT EXISTS ] <name> [ <property> = <value> ... ]
 *   ALTER <kind> [ IF EXISTS ] <name> SET <property> = <value> [ ... ]
 *
 * where a value is a literal, a word, or a parenthesised list; plus, per kind, what follows the
 * properties: a pipe's `AS <COPY INTO statement>` (parsed), a masking policy's
 * `AS ( <arg> <type> ) RETURNS <type> -> <expression>` and `SET BODY -> <expression>` (the expression
 * parsed), `ALTER PIPE <name> REFRESH [ PREFIX = '<path>' ]`.
 */
const OBJECT_KINDS: Record<string, string> = {
  ROLE: 'https://docs.snowflake.com/en/sql-reference/sql/create-role',
  USER: 'https://docs.snowflake.com/en/sql-reference/sql/create-user',
  WAREHOUSE: 'https://docs.snowflake.com/en/sql-reference/sql/create-warehouse',
  STAGE: 'https://docs.snowflake.com/en/sql-reference/sql/create-stage',
  'FILE FORMAT': 'https://docs.snowflake.com/en/sql-reference/sql/create-file-format',
  'STORAGE INTEGRATION': 'https://docs.snowflake.com/en/sql-reference/sql/create-storage-integration',
  PIPE: 'https://docs.snowflake.com/en/sql-reference/sql/create-pipe',
  'MASKING POLICY': 'https://docs.snowflake.com/en/sql-reference/sql/create-masking-policy',
};

function objectDdl(sql: string, tokens: Token[]): GapResult | undefined {
  const c = new Cursor(tokens);
  const alter = c.isWord('ALTER');
  c.next();
  if (!alter) c.take('OR', 'REPLACE');
  const kind = Object.keys(OBJECT_KINDS).find((k) => {
    const words = k.split(' ');
    return words.every((w, i) => c.peek(i)?.kind === 'word' && c.peek(i)?.value === w);
  });
  if (!kind) return undefined;
  c.i += kind.split(' ').length;
  const identifiers: GapIdentifier[] = [];
  const problems: GapProblem[] = [];
  const pieces: string[] = [];
  const result = (): GapResult => ({ name: `${alter ? 'ALTER' : 'CREATE'} ${kind}`, url: OBJECT_KINDS[kind] as string, pieces, identifiers, problems });
  const fail = (expected: string) => {
    problems.push({ message: `expected ${expected}, found ${c.describe()}` });
    return result();
  };
  if (alter) c.take('IF', 'EXISTS');
  else c.take('IF', 'NOT', 'EXISTS');
  if (!c.name('other', identifiers)) return fail(`the ${kind.toLowerCase()} name`);

  const body = (arrow: Token) => {
    // the expression runs to a trailing COMMENT = '...' or the end
    const rest = sql.slice(arrow.at + 2);
    const expr = rest.replace(/\bcomment\s*=\s*'(?:[^'\\]|''|\\.)*'\s*;?\s*$/i, '').replace(/;\s*$/, '');
    pieces.push(`select ${expr}`);
  };
  if (kind === 'MASKING POLICY') {
    if (alter) {
      if (!c.take('SET', 'BODY')) return fail('SET BODY');
    } else {
      if (!c.take('AS')) return fail('AS ( <arg_name> <arg_type> )');
      if (!c.parens()) return fail('( <arg_name> <arg_type> )');
      if (!c.take('RETURNS')) return fail('RETURNS <type>');
      c.next();
    }
    const arrow = c.peek();
    if (arrow?.kind !== 'punct' || arrow.value !== '->') return fail('-> <expression>');
    body(arrow);
    return result();
  }
  if (kind === 'PIPE' && alter && c.take('REFRESH')) {
    if (c.take('PREFIX')) {
      if (!c.isPunct('=')) return fail('= after PREFIX');
      c.next();
      if (c.next()?.kind !== 'string') return fail("a string after PREFIX =");
    }
    return c.done() ? result() : fail('the end of the statement');
  }
  if (alter && !c.take('SET')) return fail('SET');
  // properties
  while (!c.done()) {
    if (kind === 'PIPE' && !alter && c.isWord('AS')) {
      const as = c.next() as Token;
      pieces.push(sql.slice(as.at + 2));
      return result();
    }
    const property = c.next() as Token;
    if (property.kind !== 'word') return fail('a property name');
    if (!c.isPunct('=')) return fail(`= after ${property.value}`);
    c.next();
    if (c.isPunct('(')) c.parens();
    else if (c.peek()?.kind === 'word' || c.peek()?.kind === 'quoted') c.name('other', []); // a word or an object name
    else {
      const value = c.next();
      if (!value || !['string', 'number'].includes(value.kind)) return fail(`a value for ${property.value}`);
    }
  }
  if (kind === 'PIPE' && !alter) return fail('AS <COPY INTO statement>');
  return result();
}

/**
 * LIST { internalStage | externalStage } [ PATTERN = '<regex_pattern>' ], where a stage is
 * @[<namespace>.]<stage_name>[/<path>], @[<namespace>.]%<table_name>[/<path>] or @~[/<path>], in single
 * quotes when the name or path has spaces or special characters.
 * https://docs.snowflake.com/en/sql-reference/sql/list
 */
function list(sql: string): GapResult {
  const url = 'https://docs.snowflake.com/en/sql-reference/sql/list';
  const problems: GapProblem[] = [];
  const identifiers: GapIdentifier[] = [];
  const name = `@(?:~|%?${IDENT}(?:\\.${IDENT}){0,2})`;
  const bare = `${name}(?:/[^\\s';]*)?`;
  const inQuotes = `'${name}(?:/[^']*)?'`;
  const m = new RegExp(`^\\s*(?:list|ls)\\s+(${bare}|${inQuotes})(?:\\s+pattern\\s*=\\s*'(?:[^'\\\\]|''|\\\\.)*')?\\s*;?\\s*$`, 'i').exec(sql);
  if (!m) problems.push({ message: "expected LIST @<stage>[/<path>] [ PATTERN = '<regex>' ]" });
  else {
    const names = /^'?@%?([^/']*)/.exec(m[1]!)?.[1] ?? '';
    for (const part of names.split('.')) if (part && part !== '~' && !part.startsWith('"')) identifiers.push({ name: part, place: 'other' });
  }
  return { name: 'LIST', url, pieces: [], identifiers, problems };
}

// ------------------------------------------------------------------ rewrites

interface Rewrite {
  name: string;
  url: string;
  apply(sql: string): { sql: string; pieces: string[]; identifiers: GapIdentifier[] } | undefined;
}

const IDENT = String.raw`(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*")`;

/** Offset just past the parenthesis matching the one at `open` (strings and quotes skipped). */
function closing(sql: string, open: number): number | undefined {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'") {
      for (i++; i < sql.length; i++) {
        if (sql[i] === '\\' || (sql[i] === "'" && sql[i + 1] === "'")) i++;
        else if (sql[i] === "'") break;
      }
    } else if (ch === '"') {
      for (i++; i < sql.length && sql[i] !== '"'; i++);
    } else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i + 1;
  }
  return undefined;
}

const REWRITES: Rewrite[] = [
  {
    name: "CREATE DATABASE | SCHEMA ... COMMENT = '<string_literal>'",
    url: 'https://docs.snowflake.com/en/sql-reference/sql/create-database',
    apply(sql) {
      const re = /^(\s*(?:--[^\n]*\n\s*)*create\s+(?:or\s+replace\s+)?(?:transient\s+)?(?:database|schema)\b[\s\S]*?)\bcomment\s*=\s*'(?:[^'\\]|''|\\.)*'/i;
      return re.test(sql) ? { sql: sql.replace(re, '$1'), pieces: [], identifiers: [] } : undefined;
    },
  },
  {
    name: 'CREATE SCHEMA ... WITH MANAGED ACCESS',
    url: 'https://docs.snowflake.com/en/sql-reference/sql/create-schema',
    apply(sql) {
      const re = /(\bcreate\s+(?:or\s+replace\s+)?(?:transient\s+)?schema\b[\s\S]*?)\bwith\s+managed\s+access\b/i;
      return re.test(sql) ? { sql: sql.replace(re, '$1'), pieces: [], identifiers: [] } : undefined;
    },
  },
  {
    // TABLE( <udtf>( ... ) OVER ( PARTITION BY ... ORDER BY ... ) ) with a qualified function name
    name: 'a qualified table function called with OVER (...)',
    url: 'https://docs.snowflake.com/en/developer-guide/udf/javascript/udf-javascript-tabular-functions#partitions',
    apply(sql) {
      const re = new RegExp(String.raw`(\btable\s*\(\s*)(${IDENT}(?:\s*\.\s*${IDENT})+)(\s*\()`, 'gi');
      const identifiers: GapIdentifier[] = [];
      let changed = false;
      const out = sql.replace(re, (_m, head: string, name: string, open: string) => {
        changed = true;
        for (const part of name.split('.').map((p) => p.trim())) if (!part.startsWith('"')) identifiers.push({ name: part, place: 'other' });
        return head + name.replace(/"/g, '').replace(/\s*\.\s*/g, '__') + open;
      });
      return changed ? { sql: out, pieces: [], identifiers } : undefined;
    },
  },
  {
    // DELETE FROM <table> [ [ AS ] <alias> ] USING ( <query> ) [ AS ] <alias> ...
    name: 'DELETE ... USING (<query>)',
    url: 'https://docs.snowflake.com/en/sql-reference/sql/delete',
    apply(sql) {
      const m = /^\s*delete\s+from\b[\s\S]*?\busing\s*(\()/i.exec(sql);
      if (!m) return undefined;
      const open = m.index + m[0].length - 1;
      const end = closing(sql, open);
      if (end === undefined) return undefined;
      const query = sql.slice(open + 1, end - 1);
      return { sql: sql.slice(0, open) + 'using_query__' + sql.slice(end), pieces: [query], identifiers: [] };
    },
  },
  {
    // COPY INTO @<stage>[/<path>] FROM ( <query> ) PARTITION BY <expr> <options>
    name: 'COPY INTO <location> ... PARTITION BY <expr>',
    url: 'https://docs.snowflake.com/en/sql-reference/sql/copy-into-location',
    apply(sql) {
      const m = /^\s*copy\s+into\s+@[\s\S]*?\)\s*(partition\s+by\s*)\(/i.exec(sql);
      if (!m) return undefined;
      const open = m.index + m[0].length - 1;
      const end = closing(sql, open);
      if (end === undefined) return undefined;
      const start = open - (m[1] as string).length;
      return { sql: sql.slice(0, start) + sql.slice(end), pieces: [`select ${sql.slice(open, end)}`], identifiers: [] };
    },
  },
];

function rewrite(sql: string): GapResult | undefined {
  let current = sql;
  const pieces: string[] = [];
  const identifiers: GapIdentifier[] = [];
  const applied: Rewrite[] = [];
  for (const r of REWRITES) {
    const out = r.apply(current);
    if (!out) continue;
    current = out.sql;
    pieces.push(...out.pieces);
    identifiers.push(...out.identifiers);
    applied.push(r);
  }
  if (applied.length === 0) return undefined;
  return {
    name: applied.map((r) => r.name).join(' + '),
    url: applied.map((r) => r.url).join(' , '),
    pieces: [current, ...pieces],
    identifiers,
    problems: [],
  };
}
