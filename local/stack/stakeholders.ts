/**
 * The stakeholders' side of a delivery, simulated by the local stack: accounts other than ours, each
 * with buckets it owns (the local S3 server answers ExpectedBucketOwner with that account) and roles
 * for us to assume (the local STS requires each role's external ID). Read from
 * `<LOCAL_DIR>/stakeholders.json` at start, or given to startStack / stack.addStakeholder:
 *
 *   {"stakeholders": [{"account_id": "111122223333", "buckets": ["acme-drop"],
 *     "roles": [{"name": "shopping-patterns-delivery-acme", "external_id": "..."}]}]}
 *
 * On AWS none of this is ours: the stakeholder creates the bucket and the role (docs/TRANSFER.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors';
import { formatIssues } from '../../shared/zod-issues';

export const STAKEHOLDERS_FILE = 'stakeholders.json';

const stakeholderSchema = z
  .object({
    account_id: z.string().regex(/^\d{12}$/),
    buckets: z.array(z.string().min(3)).default([]),
    roles: z
      .array(z.object({ name: z.string().regex(/^[\w+=,.@-]{1,64}$/), external_id: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/) }).strict())
      .default([]),
  })
  .strict();

export type LocalStakeholder = z.input<typeof stakeholderSchema>;

export function parseStakeholders(value: unknown, where: string): Array<z.output<typeof stakeholderSchema>> {
  const parsed = z.object({ stakeholders: z.array(stakeholderSchema) }).strict().safeParse(value);
  if (!parsed.success) throw new ConfigError(`${where}: ${formatIssues(parsed.error, '(file)')}`);
  return parsed.data.stakeholders;
}

/** The stakeholders in `<dir>/stakeholders.json`, none when there is no such file. */
export function readStakeholders(dir: string): Array<z.output<typeof stakeholderSchema>> {
  const file = path.join(dir, STAKEHOLDERS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file} is not JSON: ${(err as Error).message}`);
  }
  return parseStakeholders(doc, file);
}

export function normalise(s: LocalStakeholder) {
  return stakeholderSchema.parse(s);
}
