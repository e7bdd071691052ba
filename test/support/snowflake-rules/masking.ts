/**
 * Evaluates a masking policy body (CASE WHEN <condition> THEN ... ELSE ... END) for a session, with the
 * context functions as Snowflake documents them, to tell whether that session sees the column's value or
 * something else. https://docs.snowflake.com/en/user-guide/security-column-advanced
 *
 * - CURRENT_ROLE(): the primary role of the session only.
 *   https://docs.snowflake.com/en/sql-reference/functions/current_role
 * - IS_ROLE_IN_SESSION('<role>'): true when the role is the active primary role or an active secondary
 *   role, or any role lower in their hierarchies (a role granted to them). With secondary roles active
 *   (DEFAULT_SECONDARY_ROLES = ('ALL') or USE SECONDARY ROLES ALL) every role granted to the user counts.
 *   https://docs.snowflake.com/en/sql-reference/functions/is_role_in_session
 *
 * The argument is evaluated as a non-NULL value (`val IS NULL` is false). Anything else in a condition
 * is refused, so a policy this cannot read fails its test instead of passing by accident.
 */
import { parseSnowflake } from './rules';

export interface Session {
  primary: string;
  /** Active secondary roles. */
  secondary?: string[];
}

export type Outcome = 'clear' | 'masked';

/** `roles(role)` gives the role and every role it inherits (the AccessModel's hierarchy). */
export function evaluatePolicy(createPolicySql: string, session: Session, roles: (role: string) => Set<string>): Outcome {
  const m = /->([\s\S]*?)(\bcomment\s*=\s*'[^']*'\s*)?;?\s*$/i.exec(createPolicySql);
  if (!m) throw new Error('masking: no "-> <body>" in the policy');
  const parsed = parseSnowflake(`select ${m[1]}`);
  if (!('ast' in parsed)) throw new Error(`masking: the policy body does not parse: ${parsed.error}`);
  const expr = (parsed.ast[0] as { select: { expressions: unknown[] } }).select.expressions[0] as Node;
  const active = new Set<string>();
  for (const r of [session.primary, ...(session.secondary ?? [])]) for (const x of roles(r)) active.add(x);
  const ctx = { primary: session.primary.toUpperCase(), active };
  const c = expr.case;
  if (!c) throw new Error('masking: the policy body is not a CASE');
  for (const [condition, result] of c.whens) if (truth(condition, ctx)) return outcome(result);
  return outcome(c.else_);
}

type Node = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function outcome(result: Node | null | undefined): Outcome {
  return result?.column?.name?.name?.toLowerCase() === 'val' ? 'clear' : 'masked';
}

function literal(n: Node): string {
  if (n.literal?.literal_type !== 'string') throw new Error(`masking: expected a string literal, found ${JSON.stringify(n).slice(0, 80)}`);
  return String(n.literal.value).toUpperCase();
}

function value(n: Node, ctx: { primary: string }): string {
  if (n.function?.name?.toLowerCase() === 'current_role') return ctx.primary;
  return literal(n);
}

function truth(n: Node, ctx: { primary: string; active: Set<string> }): boolean {
  if (n.is_null) return false;
  if (n.and) return truth(n.and.left, ctx) && truth(n.and.right, ctx);
  if (n.or) return truth(n.or.left, ctx) || truth(n.or.right, ctx);
  if (n.not) return !truth(n.not.this, ctx);
  if (n.paren) return truth(n.paren.this, ctx);
  if (n.eq) return value(n.eq.left, ctx) === value(n.eq.right, ctx);
  if (n.function?.name?.toLowerCase() === 'is_role_in_session') return ctx.active.has(literal(n.function.args[0]));
  throw new Error(`masking: a condition this evaluator does not know: ${JSON.stringify(n).slice(0, 120)}`);
}
