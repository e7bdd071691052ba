/** The capacity and cost model (pure) and its tables; the CLI is local/cli/plan.ts, the reasoning docs/SCALE.md. */
export * from './model';
export * from './render';
export * as constants from './constants';
