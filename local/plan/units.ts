/** Small conversions shared by the ingest, rebuild and transfer models. */
import * as C from './constants';

export const DAY_S = 86_400;

export function vcpus(memoryMb: number): number {
  return memoryMb / C.LAMBDA_MB_PER_VCPU;
}

/** Lambda bills memory in GB of 1,024 MB: GB-seconds = memory MB / 1024 x seconds. */
export function lambdaGbSeconds(memoryMb: number, seconds: number): number {
  return (memoryMb / 1024) * seconds;
}
