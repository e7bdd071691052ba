/**
 * Pseudonymisation hook: replaces the values of chosen columns by their keyed HMAC-SHA256 (hex).
 *
 * Keyed, not a plain hash: ids like `C123` have so few possible values that an unkeyed SHA-256 is
 * reversed by hashing every candidate. With a secret key the digests are stable across runs (joins
 * between exports still work) but cannot be recomputed without the key. NULL stays NULL.
 * https://www.rfc-editor.org/rfc/rfc2104
 */
import { createHmac } from 'node:crypto';
import { config } from '../config';
import { ConfigError, InvalidInputError } from '../errors';
import { getSecret } from '../secrets';
import type { ColumnSpec, PseudonymiseOptions, Row } from './types';

export type RowMapper = (rows: Row[]) => Row[];

/** Validates the options against the columns and returns a batch mapper (identity when nothing to do). */
export function createPseudonymiser(columns: ColumnSpec[], opts: PseudonymiseOptions | undefined): RowMapper {
  if (!opts || opts.columns.length === 0) return (rows) => rows;
  const key = typeof opts.key === 'string' ? Buffer.from(opts.key, 'utf8') : opts.key;
  if (key.length < 16) throw new InvalidInputError('the pseudonymisation key must be at least 16 bytes');
  const byUpper = new Map(columns.map((c) => [c.name.toUpperCase(), c.name]));
  const targets = opts.columns.map((name) => {
    const actual = byUpper.get(name.toUpperCase());
    if (!actual) {
      throw new InvalidInputError(
        `cannot pseudonymise ${JSON.stringify(name)}: no such column (columns: ${columns.map((c) => c.name).join(', ')})`,
      );
    }
    return actual;
  });
  return (rows) =>
    rows.map((row) => {
      const out: Row = { ...row };
      for (const name of targets) {
        const value = row[name];
        if (value !== null && value !== undefined) out[name] = hmacHex(key, String(value));
      }
      return out;
    });
}

export function hmacHex(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

/**
 * The pseudonymisation key: the Secrets Manager secret named by EXPORT_SALT_SECRET_ARN (AWS), or
 * EXPORT_SALT (local). Never logged.
 */
export async function pseudonymisationKey(): Promise<string> {
  const { salt, saltSecretArn } = config().export;
  if (saltSecretArn) {
    const value = (await getSecret(saltSecretArn)).trim();
    if (value.length < 16)
      throw new ConfigError(`the export salt in ${saltSecretArn} must be at least 16 characters`);
    return value;
  }
  if (salt) return salt;
  throw new ConfigError(
    'pseudonymisation needs a key: set EXPORT_SALT_SECRET_ARN (AWS) or EXPORT_SALT (local, 16+ characters)',
  );
}
