/** Types of infra/resolvers.js (plain CommonJS, because osls loads it directly). */
type Cfn = string | Record<string, unknown>;
type ResolveVariable = (variable: string) => Promise<unknown>;
type Resolver<T> = (ctx: { resolveVariable: ResolveVariable }) => Promise<T>;

export class ParameterError extends Error {
  constructor(param: string, message: string);
}
export function parsePrefixes(value: unknown, param?: string): string[];
export function parseBuckets(value: unknown, param?: string): string[];
export function secretResource(value: unknown, param: string): Cfn;
export function cfnString(text: string): Cfn;
export function queueConfigurations(
  prefixes: string[],
  queueLogicalId?: string,
): Array<Record<string, unknown>>;

export const landingQueueConfigurations: Resolver<Array<Record<string, unknown>>>;
export const landingReadResources: Resolver<Cfn[]>;
export const ingestSecretResources: Resolver<Cfn[]>;
export const rebuildSecretResources: Resolver<Cfn[]>;
export const transferSecretResources: Resolver<Cfn[]>;
export const migrateSecretResources: Resolver<Cfn[]>;
export const transferBucketList: Resolver<Cfn>;
export const transferObjectResources: Resolver<Cfn[]>;
export const transferBucketResources: Resolver<Cfn[]>;
