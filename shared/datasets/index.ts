/**
 * The datasets this pipeline ingests, declared once each (./types.ts). A registry holds them: the
 * default one has the three retail datasets; a test or an extension builds its own with more
 * (docs/EXTENDING.md). Routing from an object key to a dataset is the declarations' key patterns, in
 * order (first match wins), unless DATASET_ROUTES overrides the patterns (shared/config.ts).
 */
import { InvalidInputError } from '../errors';
import { compileSpec, DEFAULT_LIMITS, type JudgeLimits, type JudgeSpec } from '../ingest/rules/spec';
import { customers } from './customers';
import { products } from './products';
import { transactions } from './transactions';
import type { DatasetDecl } from './types';

export type { DatasetDecl } from './types';

export const DEFAULT_DATASETS: readonly DatasetDecl[] = [customers, products, transactions];

const NAME = /^[a-z][a-z0-9_]{0,40}$/;

export class DatasetRegistry {
  private readonly byName = new Map<string, DatasetDecl>();
  private readonly specs = new Map<string, JudgeSpec>();

  constructor(
    readonly datasets: readonly DatasetDecl[] = DEFAULT_DATASETS,
    readonly limits: JudgeLimits = DEFAULT_LIMITS,
  ) {
    const tables = new Set<string>();
    for (const d of datasets) {
      if (!NAME.test(d.name)) throw new InvalidInputError(`dataset name ${JSON.stringify(d.name)} must be a lower-case identifier`);
      if (this.byName.has(d.name)) throw new InvalidInputError(`dataset ${d.name} is declared twice`);
      for (const t of d.tables) {
        if (!NAME.test(t.name)) throw new InvalidInputError(`table name ${JSON.stringify(t.name)} must be a lower-case identifier`);
        if (tables.has(t.name)) throw new InvalidInputError(`raw table ${t.name} is declared by two datasets`);
        tables.add(t.name);
        for (const c of t.columns) {
          if (!NAME.test(c.name)) throw new InvalidInputError(`column ${t.name}.${c.name} must be a lower-case identifier`);
        }
      }
      this.byName.set(d.name, d);
      this.specs.set(d.name, compileSpec(d, limits)); // refuses a declaration that cannot work, now
    }
  }

  get(name: string): DatasetDecl {
    const d = this.byName.get(name);
    if (!d) throw new InvalidInputError(`unknown dataset ${JSON.stringify(name)} (known: ${[...this.byName.keys()].join(', ')})`);
    return d;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  spec(name: string): JudgeSpec {
    this.get(name);
    return this.specs.get(name)!;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Key routing from the declarations' patterns, in declaration order (first match wins). */
  routes(): { dataset: string; pattern: RegExp }[] {
    return this.datasets.map((d) => ({ dataset: d.name, pattern: new RegExp(d.keyPattern) }));
  }

  /** Same datasets, other ceilings (from the configuration). */
  withLimits(limits: JudgeLimits): DatasetRegistry {
    return new DatasetRegistry(this.datasets, limits);
  }
}

export const defaultRegistry = new DatasetRegistry();
