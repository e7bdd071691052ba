/**
 * Where destinations are kept. Every read validates (./destination.ts), so a malformed entry is named
 * with its problem and never used; the others stay usable.
 *
 * - AWS stages: AWS Systems Manager Parameter Store, one `String` parameter per destination, named
 *   `<path>/<destination name>` (default path `/shopping-patterns/<stage>/destinations`), holding the
 *   destination's JSON. Parameter Store is where AWS keeps configuration data for applications
 *   ("configuration data management and secrets management", hierarchies by path, versions and
 *   history of every change, IAM per path):
 *   https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-parameter-store.html
 *   https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-hierarchies.html
 *   A destination holds no secret (an external ID is not one: it guards against a confused deputy,
 *   not against someone who knows it), so a String parameter, readable with ssm:GetParameter* on the
 *   path alone, without a KMS key policy. A standard parameter holds up to 4 KB, far more than a
 *   destination needs. GetParametersByPath is authorised against the path in the request:
 *   https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html
 * - Local stage (or DESTINATIONS_FILE): a JSON file `{"destinations": [ ... ]}`, read on every use,
 *   written whole (write aside, rename) and readable only by its owner.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  paginateGetParametersByPath,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { config, type Config } from '../config';
import { classifyError, ConfigError, InvalidInputError, TransientError } from '../errors';
import { formatIssues } from '../zod-issues';
import { DESTINATION_NAME, destinationSchema, type Destination } from './destination';

export interface InvalidDestination {
  name: string;
  /** What is wrong, every problem named. */
  error: string;
  /** The bucket it names, when that much could be read (a request for that bucket is refused, not rerouted). */
  bucket?: string;
}

export interface DestinationList {
  destinations: Destination[];
  invalid: InvalidDestination[];
}

export interface DestinationStore {
  /** Where they are, for messages: `file .local/destinations.json`, `SSM /shopping-patterns/dev/destinations`. */
  readonly where: string;
  list(): Promise<DestinationList>;
  /** The destination, or undefined when there is none by that name; an invalid one is an InvalidInputError. */
  get(name: string): Promise<Destination | undefined>;
  /** Add, or replace when `replace` (else an existing name is refused). */
  put(destination: Destination, opts?: { replace?: boolean }): Promise<void>;
  /** false when there was none. */
  remove(name: string): Promise<boolean>;
}

/** Validate one destination's JSON value; the problems named, prefixed with its name. */
export function parseDestination(value: unknown, rolePrefix: string, name?: string): Destination | InvalidDestination {
  const parsed = destinationSchema(rolePrefix).safeParse(value);
  const label = name ?? (typeof (value as { name?: unknown })?.name === 'string' ? (value as { name: string }).name : '(unnamed)');
  const bucket = typeof (value as { bucket?: unknown })?.bucket === 'string' ? (value as { bucket: string }).bucket : undefined;
  if (!parsed.success) return { name: label, bucket, error: formatIssues(parsed.error, '(destination)', '; ') };
  if (name !== undefined && parsed.data.name !== name) {
    return { name: label, bucket, error: `its name is ${JSON.stringify(parsed.data.name)}, but it is stored as ${name}` };
  }
  return parsed.data;
}

const isInvalid = (d: Destination | InvalidDestination): d is InvalidDestination => 'error' in d;

function assertName(name: string): void {
  if (!DESTINATION_NAME.test(name)) throw new InvalidInputError(`${JSON.stringify(name)} is not a destination name (lowercase letters, digits, hyphens)`);
}

function invalidError(where: string, d: InvalidDestination): InvalidInputError {
  return new InvalidInputError(`destination ${d.name} (${where}) is invalid: ${d.error}`);
}

export class FileDestinationStore implements DestinationStore {
  readonly where: string;

  constructor(
    readonly file: string,
    private readonly rolePrefix: string,
  ) {
    const relative = path.relative(process.cwd(), file);
    this.where = `file ${relative && !relative.startsWith('..') ? relative : file}`;
  }

  private readRaw(): unknown[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ConfigError(`cannot read the destinations file ${this.file}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`the destinations file ${this.file} is not JSON: ${(err as Error).message}`);
    }
    const list = (doc as { destinations?: unknown })?.destinations;
    if (!Array.isArray(list)) throw new ConfigError(`the destinations file ${this.file} must be {"destinations": [ ... ]}`);
    return list;
  }

  async list(): Promise<DestinationList> {
    const out: DestinationList = { destinations: [], invalid: [] };
    const parsed = this.readRaw().map((raw) => parseDestination(raw, this.rolePrefix));
    const count = new Map<string, number>();
    for (const d of parsed) count.set(d.name, (count.get(d.name) ?? 0) + 1);
    for (const d of parsed) {
      // a name used twice: neither entry may be used, or a request could reach the wrong one
      if ((count.get(d.name) ?? 0) > 1) out.invalid.push({ name: d.name, bucket: d.bucket, error: 'the name is used more than once in the file' });
      else if (isInvalid(d)) out.invalid.push(d);
      else out.destinations.push(d);
    }
    return out;
  }

  async get(name: string): Promise<Destination | undefined> {
    assertName(name);
    const { destinations, invalid } = await this.list();
    const bad = invalid.find((i) => i.name === name);
    if (bad) throw invalidError(this.where, bad);
    return destinations.find((d) => d.name === name);
  }

  async put(destination: Destination, opts: { replace?: boolean } = {}): Promise<void> {
    const checked = parseDestination(destination, this.rolePrefix);
    if (isInvalid(checked)) throw invalidError(this.where, checked);
    const raw = this.readRaw();
    const at = raw.findIndex((r) => (r as { name?: unknown })?.name === destination.name);
    if (at >= 0 && !opts.replace) throw new InvalidInputError(`destination ${destination.name} exists (${this.where}); remove it first, or replace it`);
    if (at >= 0) raw[at] = checked;
    else raw.push(checked);
    this.write(raw);
  }

  async remove(name: string): Promise<boolean> {
    assertName(name);
    const raw = this.readRaw();
    const kept = raw.filter((r) => (r as { name?: unknown })?.name !== name);
    if (kept.length === raw.length) return false;
    this.write(kept);
    return true;
  }

  private write(list: unknown[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ destinations: list }, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}

export class SsmDestinationStore implements DestinationStore {
  readonly where: string;

  constructor(
    /** `/shopping-patterns/dev/destinations`, no trailing slash */
    readonly path: string,
    private readonly client: SSMClient,
    private readonly rolePrefix: string,
  ) {
    this.where = `SSM ${path}`;
  }

  private parameter(name: string): string {
    return `${this.path}/${name}`;
  }

  private fromValue(parameterName: string, value: string | undefined): Destination | InvalidDestination {
    const name = parameterName.slice(this.path.length + 1);
    let json: unknown;
    try {
      json = JSON.parse(value ?? '');
    } catch {
      return { name, error: 'the parameter value is not JSON' };
    }
    return parseDestination(json, this.rolePrefix, name);
  }

  async list(): Promise<DestinationList> {
    const out: DestinationList = { destinations: [], invalid: [] };
    try {
      // one level: <path>/<name>; WithDecryption so a SecureString someone chose still reads
      for await (const page of paginateGetParametersByPath(
        { client: this.client },
        { Path: this.path, Recursive: false, WithDecryption: true },
      )) {
        for (const p of page.Parameters ?? []) {
          const d = this.fromValue(p.Name ?? '', p.Value);
          if (isInvalid(d)) out.invalid.push(d);
          else out.destinations.push(d);
        }
      }
    } catch (err) {
      throw storeError(err, `cannot list destinations under ${this.path}`);
    }
    out.destinations.sort((a, b) => (a.name < b.name ? -1 : 1));
    return out;
  }

  async get(name: string): Promise<Destination | undefined> {
    assertName(name);
    let value: string | undefined;
    try {
      const res = await this.client.send(new GetParameterCommand({ Name: this.parameter(name), WithDecryption: true }));
      value = res.Parameter?.Value;
    } catch (err) {
      if ((err as { name?: string }).name === 'ParameterNotFound') return undefined;
      throw storeError(err, `cannot read destination ${name} (${this.parameter(name)})`);
    }
    const d = this.fromValue(this.parameter(name), value);
    if (isInvalid(d)) throw invalidError(this.where, d);
    return d;
  }

  async put(destination: Destination, opts: { replace?: boolean } = {}): Promise<void> {
    const checked = parseDestination(destination, this.rolePrefix);
    if (isInvalid(checked)) throw invalidError(this.where, checked);
    const value = JSON.stringify(checked);
    // a standard parameter holds 4 KB https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
    if (Buffer.byteLength(value) > 4096) throw new InvalidInputError(`destination ${destination.name} is ${Buffer.byteLength(value)} bytes of JSON: a standard parameter holds 4096`);
    try {
      await this.client.send(
        new PutParameterCommand({
          Name: this.parameter(destination.name),
          Value: value,
          Type: 'String',
          Overwrite: opts.replace === true,
          Description: `shopping-patterns delivery destination ${destination.name}`,
        }),
      );
    } catch (err) {
      if ((err as { name?: string }).name === 'ParameterAlreadyExists') {
        throw new InvalidInputError(`destination ${destination.name} exists (${this.where}); remove it first, or replace it`);
      }
      throw storeError(err, `cannot write destination ${destination.name}`);
    }
  }

  async remove(name: string): Promise<boolean> {
    assertName(name);
    try {
      await this.client.send(new DeleteParameterCommand({ Name: this.parameter(name) }));
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ParameterNotFound') return false;
      throw storeError(err, `cannot remove destination ${name}`);
    }
  }
}

function storeError(err: unknown, what: string): Error {
  const e = classifyError(err);
  const message = `${what}: ${e.message}`;
  return e.retryable ? new TransientError(message, { cause: err }) : new ConfigError(message, { cause: err });
}

let override: DestinationStore | undefined;

/** For tests and the local stack: use this store instead of the configured one. */
export function setDestinationStore(store: DestinationStore | undefined): void {
  override = store;
}

/** The configured store: the file (local stage, DESTINATIONS_FILE) or Parameter Store. */
export function destinationStore(cfg: Config = config()): DestinationStore {
  if (override) return override;
  const where = cfg.delivery.store;
  if (where.kind === 'file') return new FileDestinationStore(where.path, cfg.delivery.rolePrefix);
  ssmClient ??= new SSMClient({ region: cfg.region, maxAttempts: 4 });
  return new SsmDestinationStore(where.path, ssmClient, cfg.delivery.rolePrefix);
}

/** One client per process (a warm Lambda reuses its connections). */
let ssmClient: SSMClient | undefined;
