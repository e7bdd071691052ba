/**
 * Stakeholder delivery: destinations as data (./destination.ts, ./store.ts), safe cross-account
 * writes (./client.ts), runs queued through the API and schedules (./submit.ts, ./dispatch.ts) and
 * recorded in the warehouse (./runs.ts), and the checks an operator runs first (./verify.ts).
 * The transfer itself is shared/transfer/. docs/TRANSFER.md explains it all.
 */
export { destinationSchema, type Destination, type DestinationAccess, type DestinationSchedule } from './destination';
export {
  destinationStore,
  setDestinationStore,
  parseDestination,
  FileDestinationStore,
  SsmDestinationStore,
  type DestinationStore,
  type DestinationList,
  type InvalidDestination,
} from './store';
export { boundClient, deliveryClient, checkTarget, ownAccountId, type DeliveryTarget } from './client';
export { resolveTransfer, type ResolvedTransfer } from './resolve';
export { submitTransfer, runIdForKey, type SubmitOutcome } from './submit';
export { dispatchSchedules, scheduledRunId, DISPATCH_LOOKBACK_MS, type DispatchResult } from './dispatch';
export { recentRuns, runStatus, deriveStatus, RUNS_TABLE, type RunStatus } from './runs';
export { verifyDestination, type VerifyReport, type VerifyCheck } from './verify';
export { setTransferFunction, transferFunction, type TransferFunction } from './invoke';
export { handleTransferEvent, type ApiAnswer } from './handler';
export { stakeholderSetup, trustPolicy, rolePolicy, bucketPolicy, transferRoleArn, transferRoleName } from './policies';
