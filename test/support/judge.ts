/**
 * Runs the ingest rules (shared/ingest/rules/judge.ts) over a whole text, as the engines feed them
 * (physical lines split on '\n', 1-based numbers), and collects what they emit by table.
 */
import { DatasetRegistry, defaultRegistry } from '../../shared/datasets';
import { createJudge, OUT_FATAL, OUT_QUARANTINE, OUT_ROW } from '../../shared/ingest/rules/judge';

export interface Judged {
  rows: Record<string, unknown[][]>;
  /** [line, raw text, reason] */
  quarantined: [number, string, string][];
  fatal: string | null;
}

export function judgeText(dataset: string, text: string, registry: DatasetRegistry = defaultRegistry): Judged {
  const spec = registry.spec(dataset);
  const out: Judged = { rows: Object.fromEntries(spec.tables.map((t) => [t.name, []])), quarantined: [], fatal: null };
  const judge = createJudge(spec, (kind, t, line, values) => {
    if (kind === OUT_ROW) out.rows[spec.tables[t]!.name]!.push([line, ...values]);
    else if (kind === OUT_QUARANTINE) out.quarantined.push([line, values[0] as string, values[1] as string]);
    else if (kind === OUT_FATAL) out.fatal = values[0] as string;
  });
  if (text !== '') {
    const lines = text.split('\n');
    if (text.endsWith('\n')) lines.pop();
    lines.forEach((l, i) => judge.line(l, i + 1));
  }
  judge.end();
  return out;
}
