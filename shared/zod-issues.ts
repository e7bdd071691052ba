/**
 * One way to turn zod's issues into the message a user reads: `path: message` per issue, the path
 * of the whole input named by `root` (for example `(event)`). Every schema at an edge of the system
 * (environment, events, requests, secrets) reports through this, so errors read the same everywhere.
 */
import type { z } from 'zod';

export function formatIssues(error: z.ZodError, root: string, separator = '; '): string {
  return error.issues.map((i) => `${i.path.join('.') || root}: ${i.message}`).join(separator);
}
