/**
 * splitStatements: semicolons split only at the top level of a script.
 */
import { splitStatements } from '../../shared/warehouse/split-statements';

describe('splitStatements', () => {
  it('splits at top-level semicolons and drops empty and comment-only chunks', () => {
    // Prepare
    const script = `-- the raw schema; a comment with a semicolon
create schema if not exists raw;
-- only a comment;
;

/* block; comment */
create table t (a int);;
-- trailing comment`;

    // Act
    const parts = splitStatements(script);

    // Assess
    expect(parts).toEqual([
      '-- the raw schema; a comment with a semicolon\ncreate schema if not exists raw',
      '/* block; comment */\ncreate table t (a int)',
    ]);
  });

  it('keeps semicolons inside string literals, quoted identifiers and $$ bodies', () => {
    // Prepare
    const statements = [
      "insert into t values ('a;b', 'it''s; fine', 'back\\'slash;')",
      'select 1 as "odd;name"',
      `create or replace function f(x varchar) returns varchar language javascript as $$
  var parts = X.split(';'); // a comment; with a semicolon
  return parts.join(';');
$$`,
    ];

    // Act
    const parts = splitStatements(statements.join(';\n') + ';');

    // Assess
    expect(parts).toEqual(statements);
  });
});
