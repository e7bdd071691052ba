/**
 * From a transfer request to what runs: the effective request and the delivery target.
 *
 * 1. A request that names a `destination` delivers there (its bucket, owner, access, key). A bucket
 *    given as well must be the destination's.
 * 2. A request that names only a bucket:
 *    - a bucket in TRANSFER_ALLOWED_BUCKETS is one of this account's (the exports bucket by default):
 *      written with this function's credentials, ExpectedBucketOwner = this account;
 *    - else the destination that names that bucket (exactly one, or the one whose prefix the request
 *      gives); a malformed destination naming it refuses the request rather than being skipped;
 *    - else, when TRANSFER_ALLOWED_BUCKETS is not set (the local stage), any bucket of this account;
 *      when it is set, the request is refused.
 *    The landing bucket is always refused: whatever lands there is ingested.
 * 3. A destination's fixed options win: `prefix`, `format` and `columns`, when the destination sets
 *    them, may be repeated by a request but not changed; its `pseudonymise` columns are always
 *    pseudonymised (a request may add more, never fewer). Unload mode writes through this account's
 *    Snowflake stage, so it cannot write to another account's role.
 */
import { config, type Config } from '../config';
import { InvalidInputError } from '../errors';
import {
  parseTransferRequest,
  parseTransferRequestInput,
  type ParsedTransferRequest,
  type TransferRequestInput,
} from '../transfer/request';
import { destinationTarget, ownAccountId, type DeliveryTarget } from './client';
import type { Destination } from './destination';
import { destinationStore, type DestinationStore } from './store';

export interface ResolvedTransfer {
  /** The request as given. */
  input: TransferRequestInput;
  /** The request that runs: the destination's fixed options merged, defaults filled in. */
  req: ParsedTransferRequest;
  target: DeliveryTarget;
}

export interface ResolveOptions {
  config?: Config;
  store?: DestinationStore;
}

export async function resolveTransfer(request: unknown, opts: ResolveOptions = {}): Promise<ResolvedTransfer> {
  const cfg = opts.config ?? config();
  const input = parseTransferRequestInput(request);
  const store = () => opts.store ?? destinationStore(cfg);

  if (input.destination !== undefined) {
    const s = store();
    const destination = await s.get(input.destination);
    if (!destination) throw new InvalidInputError(`no destination named ${input.destination} (${s.where})`);
    if (input.destination_s3_bucket !== undefined && input.destination_s3_bucket !== destination.bucket) {
      throw new InvalidInputError(
        `destination ${destination.name} delivers to bucket ${destination.bucket}, not ${input.destination_s3_bucket}: leave destination_s3_bucket out`,
      );
    }
    return fromDestination(input, destination, cfg);
  }

  const bucket = input.destination_s3_bucket!;
  refuseLanding(bucket, cfg);
  const allowed = cfg.transfer.allowedBuckets;
  if (allowed?.includes(bucket)) return ownBucket(input, bucket, cfg);
  const s = store();
  const { destinations, invalid } = await s.list();
  const broken = invalid.find((d) => d.bucket === bucket);
  if (broken) throw new InvalidInputError(`destination ${broken.name} names bucket ${bucket} but is invalid (${s.where}): ${broken.error}`);
  const matches = destinations.filter((d) => d.bucket === bucket);
  if (matches.length === 1) return fromDestination(input, matches[0]!, cfg);
  if (matches.length > 1) {
    const byPrefix = input.prefix === undefined ? [] : matches.filter((d) => (d.prefix ?? 'transfer') === input.prefix);
    if (byPrefix.length === 1) return fromDestination(input, byPrefix[0]!, cfg);
    throw new InvalidInputError(
      `bucket ${bucket} belongs to several destinations (${matches.map((d) => d.name).join(', ')}): name one with destination`,
    );
  }
  if (allowed === undefined) return ownBucket(input, bucket, cfg);
  throw new InvalidInputError(
    `destination bucket ${bucket} is not allowed (TRANSFER_ALLOWED_BUCKETS: ${allowed.join(', ')}), and no destination names it (${s.where})`,
  );
}

function refuseLanding(bucket: string, cfg: Config): void {
  if (bucket === cfg.buckets.landing) {
    throw new InvalidInputError(
      `destination bucket ${bucket} is the landing bucket: every object written there is ingested; choose another bucket`,
    );
  }
}

async function ownBucket(input: TransferRequestInput, bucket: string, cfg: Config): Promise<ResolvedTransfer> {
  const req = parseTransferRequest(input);
  return {
    input,
    req,
    target: { name: undefined, bucket, region: cfg.region, ownerAccountId: await ownAccountId(cfg), access: { type: 'own' } },
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function fromDestination(input: TransferRequestInput, d: Destination, cfg: Config): ResolvedTransfer {
  refuseLanding(d.bucket, cfg);
  const fixed = (field: 'prefix' | 'format' | 'columns') => {
    const given = input[field];
    const set = d[field];
    if (set !== undefined && given !== undefined && !same(given, set)) {
      throw new InvalidInputError(`destination ${d.name} fixes ${field} to ${JSON.stringify(set)}; leave ${field} out of the request`);
    }
    return set ?? given;
  };
  if (input.mode === 'unload' && d.access.type === 'assume_role') {
    throw new InvalidInputError(
      `destination ${d.name} is written through a role in its owner's account; unload mode writes through this account's Snowflake stage: use mode "stream"`,
    );
  }
  const pseudonymise = [...(d.pseudonymise ?? [])];
  for (const c of input.pseudonymise ?? []) if (!pseudonymise.some((p) => p.toUpperCase() === c.toUpperCase())) pseudonymise.push(c);
  const req = parseTransferRequest({
    ...input,
    destination: d.name,
    destination_s3_bucket: d.bucket,
    prefix: fixed('prefix'),
    format: fixed('format'),
    columns: fixed('columns'),
    pseudonymise: pseudonymise.length ? pseudonymise : undefined,
  });
  return {
    input,
    req,
    target: destinationTarget(d),
  };
}
