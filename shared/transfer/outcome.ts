/** What a transfer run (stream or unload) hands back, and the manifest fields both modes write. */
import type { ColumnSpec } from '../publish';
import { tableLabel } from '../warehouse/identifiers';
import type { TransferPlan } from './plan';
import type { ParsedTransferRequest } from './request';

export interface RunOutcome {
  manifestKey: string;
  rowCount: number;
  months: number;
  parts: number;
  bytes: number;
}

/** The output columns: output name, kind, the source's engine type, role, and the type as written. */
export function columnSpecs(plan: TransferPlan): ColumnSpec[] {
  return plan.columns.map((c) => ({
    name: c.output,
    kind: c.kind,
    type: c.type,
    role: c.role,
    output_type: c.outputType,
  }));
}

/** Manifest fields every transfer writes, whatever the mode. */
export function manifestExtras(plan: TransferPlan, req: ParsedTransferRequest, runId: string, sql: string) {
  return {
    run_id: runId,
    source_table: plan.label,
    resolved_table: tableLabel(plan.table),
    engine: plan.engine,
    mode: req.mode,
    month_key: plan.monthKeyOutput,
    null_month_partition: 'month=__null__',
    query: sql,
  };
}
