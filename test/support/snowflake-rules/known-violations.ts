/**
 * Statements that break a rule today and are owned elsewhere, so the checks record them without failing
 * the test. Each entry names the rule, the statement (a pattern on its text), the code that sends it and
 * why it is tolerated for now. Empty it, do not grow it: a new statement that breaks a rule fails the
 * test that sent it.
 */
import type { Violation } from './rules';

export interface KnownViolation {
  rule: string;
  statement: RegExp;
  sentBy: string;
  why: string;
}

export const KNOWN_VIOLATIONS: KnownViolation[] = [];

export function isKnown(v: Violation, known: readonly KnownViolation[] = KNOWN_VIOLATIONS): KnownViolation | undefined {
  return known.find((k) => k.rule === v.rule.id && k.statement.test(v.sql));
}
