/**
 * Which landing an engine uses, asked of its dialect (never by engine name). Both are loaded lazily:
 * the Lambda bundle's ingest path never loads the streaming reader's sinks, and the local stack never
 * loads the stage's SQL.
 */
import type { Warehouse } from '../../warehouse/port';
import type { Landing } from '../flow';

export function landingFor(wh: Warehouse): Landing {
  if (wh.dialect.landing === 'stage') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { StageLanding } = require('./stage') as typeof import('./stage');
    return new StageLanding(wh);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ObjectStoreLanding } = require('./object-store') as typeof import('./object-store');
  return new ObjectStoreLanding();
}
