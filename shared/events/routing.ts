/** Routing from an object key to a dataset: one configurable table (config.routes), first match wins. */
import type { Route } from '../config';

export function routeKey(key: string, routes: readonly Route[]): string | undefined {
  return routes.find((r) => r.pattern.test(key))?.dataset;
}
