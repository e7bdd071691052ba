/**
 * Checks of one Snowflake statement against Snowflake's documented rules, independent of our code's own
 * idea of them. Each rule has a name and the documentation page it comes from; a violation names both.
 *
 * - `snowflake-syntax`: the statement parses with an independent Snowflake-dialect parser
 *   (`@polyglot-sql/sdk`, parse only). That parser is lenient (it accepts `select sample from x`, which
 *   Snowflake refuses) and cannot read a few documented constructs; for those, ./parser-gaps.ts applies
 *   a check of its own, named and linked there.
 * - `reserved-keyword`: no keyword of ./reserved-keywords.ts stands as an unquoted identifier where the
 *   keywords page forbids it. Identifiers are taken from the parser's tree (it knows a column alias from
 *   a keyword), or from ./parser-gaps.ts where the parser cannot read the statement.
 * - `insert-not-null`: every INSERT (single or multi-table, and MERGE's WHEN NOT MATCHED THEN INSERT)
 *   names each NOT NULL column without a DEFAULT of its target, as declared by a CREATE TABLE (from
 *   sql/snowflake/*.sql, or sent earlier). Snowflake enforces NOT NULL and nothing else, so an omitted
 *   column is a NULL and the statement fails (100072, "NULL result in a non-nullable column").
 * - `create-function-clause-order` (./parser-gaps.ts) and `ddl-commits-transaction` (the fake, which
 *   sees transactions).
 */
import { init, parse, Dialect } from '@polyglot-sql/sdk';
import { stripComments } from '../../../shared/warehouse/split-statements';
import { Catalog, identifierKey, tableKey } from './catalog';
import { parserGap, type GapIdentifier } from './parser-gaps';
import { reservedIn, RESTRICTION_TEXT, type IdentifierPlace } from './reserved-keywords';
import { RULES, type Rule } from './rule-list';
import { tokenize, type Token } from './tokens';

export { RULES, type Rule } from './rule-list';

export interface Violation {
  rule: Rule;
  message: string;
  sql: string;
}

export function formatViolation(v: Violation): string {
  const text = stripComments(v.sql).replace(/\s+/g, ' ').trim();
  return `[${v.rule.id}] ${v.rule.title}\n  ${v.message}\n  doc: ${v.rule.url}\n  statement: ${text.length > 300 ? text.slice(0, 297) + '...' : text}`;
}

let ready: Promise<void> | undefined;

/** Load the parser (WebAssembly); every check below needs it. */
export function initRules(): Promise<void> {
  ready ??= init();
  return ready;
}

type Ast = unknown;

/** Parse with the independent parser; undefined and the error when it cannot. */
export function parseSnowflake(sql: string): { ast: Ast[] } | { error: string } {
  const result = parse(sql, Dialect.Snowflake);
  return result.success ? { ast: result.ast } : { error: result.error };
}

/** Every check but `ddl-commits-transaction` (which needs the session's state). */
export function checkStatement(sql: string, catalog: Catalog): Violation[] {
  const tokens = tokenize(sql);
  if (tokens.length === 0) return [];
  const violations: Violation[] = [];
  const add = (rule: Rule, message: string) => violations.push({ rule, message, sql });

  let pieces: string[] = [sql];
  let gapIdentifiers: GapIdentifier[] = [];
  const direct = parseSnowflake(sql);
  const asts: Ast[] = [];
  // the parser "succeeds" on statement kinds it does not know by keeping their text (a raw or command
  // node): that is no reading at all, so those go to the documented checks as a refusal would
  const unread = 'ast' in direct && direct.ast.some((a) => typeof a === 'object' && a !== null && ('raw' in a || 'command' in a));
  if ('ast' in direct && !unread) asts.push(...direct.ast);
  else {
    const gap = parserGap(sql, tokens);
    if (!gap) {
      add(RULES.syntax, 'error' in direct ? `the parser cannot read it: ${direct.error}` : 'the parser does not read this statement kind, and test/support/snowflake-rules/parser-gaps.ts has no documented check for it');
    } else {
      for (const problem of gap.problems) add(problem.rule ?? RULES.syntax, `${problem.message} (${gap.name}: ${gap.url})`);
      gapIdentifiers = gap.identifiers;
      pieces = gap.pieces;
      for (const piece of pieces) {
        const parsed = parseSnowflake(piece);
        if ('ast' in parsed) asts.push(...parsed.ast);
        else add(RULES.syntax, `the parser cannot read it (after the documented rewrite for ${gap.name}, ${gap.url}): ${parsed.error}`);
      }
    }
  }

  for (const { name, place } of [...identifiersOf(asts), ...gapIdentifiers, ...showInIdentifiers(tokens)]) {
    const broken = reservedIn(name, place);
    if (broken) add(RULES.reserved, `${name.toUpperCase()} is used as ${placeText(place)}: ${RESTRICTION_TEXT[broken]}; quote it or choose another name`);
  }

  for (const insert of insertsOf(asts)) {
    const table = catalog.get(insert.table);
    if (!table || insert.columns === undefined) continue; // unknown table, or positional: every column named
    const named = new Set(insert.columns);
    const missing = table.columns.filter((c) => c.notNull && !c.hasDefault && !named.has(c.name)).map((c) => c.name);
    if (missing.length > 0) {
      add(RULES.insertNotNull, `INSERT into ${insert.table} leaves NOT NULL column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} out (declared NOT NULL without DEFAULT in ${table.source}); Snowflake fails with 100072 NULL result in a non-nullable column`);
    }
  }
  return violations;
}

function placeText(place: IdentifierPlace): string {
  switch (place) {
    case 'table':
      return 'a table name or alias';
    case 'column-reference':
      return 'a column reference';
    case 'column-name':
      return 'a column name or alias';
    case 'create-table-column':
      return 'a column name in CREATE TABLE';
    case 'show-in':
      return "the identifier of 'SHOW ... IN'";
    case 'other':
      return 'an identifier';
  }
}

interface AstIdentifier {
  name: string;
  quoted: boolean;
}

function isIdentifier(v: unknown): v is AstIdentifier {
  const o = v as Record<string, unknown>;
  return typeof v === 'object' && v !== null && typeof o.name === 'string' && typeof o.quoted === 'boolean' && 'span' in o;
}

/**
 * The unquoted identifiers of a parse tree and where each stands. The tree's node kinds (`column`,
 * `table`, `alias`, `create_table`, `insert`) tell a column reference from a table name or alias; a word
 * the parser read as a keyword is no identifier node at all.
 */
function identifiersOf(asts: Ast[]): { name: string; place: IdentifierPlace }[] {
  const out: { name: string; place: IdentifierPlace }[] = [];
  const visit = (node: unknown, wrapper: string, key: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, wrapper, key);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    if (isIdentifier(node)) {
      if (!node.quoted) out.push({ name: node.name, place: placeOf(wrapper, key) });
      return;
    }
    const entries = Object.entries(node as Record<string, unknown>);
    // single-key objects wrap a node of that kind: { column: {...} }, { table: {...} }
    if (entries.length === 1 && typeof entries[0]?.[1] === 'object') {
      const [kind, inner] = entries[0] as [string, unknown];
      visit(inner, kind, '');
      return;
    }
    // the key under the wrapper says what the identifier is (create_table.columns[].name is a column)
    for (const [k, v] of entries) visit(v, wrapper, key === '' ? k : key);
  };
  for (const ast of asts) visit(ast, '', '');
  return out;
}

function placeOf(wrapper: string, key: string): IdentifierPlace {
  if (wrapper === 'column') return key === 'table' ? 'table' : 'column-reference';
  if (wrapper === 'table' || wrapper === 'subquery' || wrapper === 'Like') return 'table';
  if (wrapper === 'create_table') return key === 'columns' ? 'create-table-column' : 'table';
  if (wrapper === 'insert') return key === 'columns' ? 'column-name' : 'table';
  if (wrapper === 'alias' && key === 'alias') return 'column-name';
  return 'other';
}

/** 'SHOW ... IN <kind> <identifier>': the parser keeps no identifier nodes for SHOW, so read tokens. */
function showInIdentifiers(tokens: Token[]): GapIdentifier[] {
  if (tokens[0]?.kind !== 'word' || tokens[0].value !== 'SHOW') return [];
  const out: GapIdentifier[] = [];
  for (let i = 1; i < tokens.length; i++) {
    if (tokens[i]?.value !== 'IN' || tokens[i]?.kind !== 'word') continue;
    // SHOW ... IN ACCOUNT | IN DATABASE [<name>] | IN SCHEMA [<name>] | IN <kind> <name>
    const kind = tokens[i + 1];
    const name = tokens[i + 2];
    if (kind?.kind === 'word' && name?.kind === 'word') {
      out.push({ name: name.value, place: 'show-in' });
      for (let j = i + 3; tokens[j]?.value === '.' && tokens[j + 1]?.kind === 'word'; j += 2) out.push({ name: (tokens[j + 1] as Token).value, place: 'show-in' });
    }
  }
  return out;
}

interface InsertTarget {
  table: string;
  /** Column keys named by the statement; undefined when it names none (values for every column). */
  columns: string[] | undefined;
}

/** Every INSERT target of the trees: `insert`, the branches of INSERT ALL / FIRST, MERGE's inserts. */
function insertsOf(asts: Ast[]): InsertTarget[] {
  const out: InsertTarget[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    if ('insert' in o && typeof o.insert === 'object' && o.insert !== null) {
      const ins = o.insert as { table?: unknown; columns?: unknown };
      const key = ins.table ? tableKey(ins.table) : undefined;
      if (key) {
        const columns = Array.isArray(ins.columns) && ins.columns.length > 0 ? ins.columns.filter(isIdentifier).map(identifierKey) : undefined;
        out.push({ table: key, columns });
      }
    }
    if ('merge' in o && typeof o.merge === 'object' && o.merge !== null) {
      const merge = o.merge as { this?: { table?: unknown; alias?: { this?: { table?: unknown } } } };
      const target = tableKey(merge.this?.table ?? merge.this?.alias?.this?.table);
      if (target) for (const columns of mergeInsertColumns(o.merge)) out.push({ table: target, columns });
    }
    for (const v of Object.values(o)) visit(v);
  };
  asts.forEach(visit);
  return out;
}

/**
 * The column lists of MERGE ... WHEN NOT MATCHED THEN INSERT [ (cols) ] VALUES (...): the parser reads
 * the action as a tuple [INSERT, (cols), (values)], or [INSERT, (values)] without a column list.
 */
function mergeInsertColumns(merge: unknown): (string[] | undefined)[] {
  const found: (string[] | undefined)[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const then = (node as { then?: { tuple?: { expressions?: unknown[] } } }).then;
    const parts = then?.tuple?.expressions;
    if (Array.isArray(parts) && (parts[0] as { var?: { this?: string } })?.var?.this?.toUpperCase() === 'INSERT') {
      const list = parts.length >= 3 ? (parts[1] as { tuple?: { expressions?: unknown[] } }).tuple?.expressions : undefined;
      found.push(list?.map((e) => (e as { identifier?: unknown; column?: { name?: unknown } }).identifier ?? (e as { column?: { name?: unknown } }).column?.name).filter(isIdentifier).map(identifierKey));
    }
    for (const v of Object.values(node)) visit(v);
  };
  visit(merge);
  return found;
}
