/**
 * The local STS: the two actions the delivery path calls, AssumeRole and GetCallerIdentity, on
 * loopback, in the AWS query protocol the SDK speaks (form-encoded POST, XML answers).
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 *
 * It plays the stakeholders' side of a cross-account delivery: the roles it knows are the roles a
 * stakeholder created in their account for us, each with the external ID its trust policy requires.
 * As a stand-in it is stricter than IAM, never more forgiving:
 * - a role it does not know, or a request whose ExternalId is missing or different, is refused with
 *   403 AccessDenied (a trust policy with `"Condition": {"StringEquals": {"sts:ExternalId": ...}}`);
 * - RoleSessionName, ExternalId and DurationSeconds are checked as the API reference states (a role's
 *   default maximum session is one hour).
 * The credentials it hands out are random and unchecked (the local S3 server takes any).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_ACCOUNT_ID } from '../../shared/config';

export interface LocalRole {
  /** arn:aws:iam::<account>:role/<name> */
  arn: string;
  /** The external ID the role's trust policy requires. */
  externalId: string;
}

export interface AssumeRoleCall {
  roleArn: string;
  roleSessionName: string | undefined;
  externalId: string | undefined;
  durationSeconds: number | undefined;
  ok: boolean;
}

export interface LocalSts {
  endpoint: string;
  port: number;
  addRole(role: LocalRole): void;
  /** Every AssumeRole request, answered or refused, in order (for tests). */
  readonly calls: readonly AssumeRoleCall[];
  close(): Promise<void>;
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
/** https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_RequestParameters */
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const MAX_BODY = 64 * 1024;

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startLocalSts(opts: { port: number; roles?: LocalRole[]; accountId?: string }): Promise<LocalSts> {
  const account = opts.accountId ?? LOCAL_ACCOUNT_ID;
  const roles = new Map<string, LocalRole>();
  const calls: AssumeRoleCall[] = [];
  const addRole = (role: LocalRole) => {
    if (!ROLE_ARN.test(role.arn)) throw new Error(`not an IAM role ARN: ${role.arn}`);
    if (!EXTERNAL_ID.test(role.externalId)) throw new Error(`not a valid external ID for ${role.arn}`);
    roles.set(role.arn, role);
  };
  for (const r of opts.roles ?? []) addRole(r);

  const assumeRole = (p: URLSearchParams): string => {
    const roleArn = p.get('RoleArn') ?? '';
    const sessionName = p.get('RoleSessionName') ?? undefined;
    const externalId = p.get('ExternalId') ?? undefined;
    const duration = p.get('DurationSeconds');
    const call: AssumeRoleCall = {
      roleArn,
      roleSessionName: sessionName,
      externalId,
      durationSeconds: duration === null ? undefined : Number(duration),
      ok: false,
    };
    calls.push(call);
    const arn = ROLE_ARN.exec(roleArn);
    if (!arn) throw new StsError(400, 'ValidationError', `${roleArn} is invalid`);
    if (!sessionName || !SESSION_NAME.test(sessionName))
      throw new StsError(400, 'ValidationError', "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint");
    if (externalId !== undefined && !EXTERNAL_ID.test(externalId))
      throw new StsError(400, 'ValidationError', "1 validation error detected: Value at 'externalId' failed to satisfy constraint");
    const seconds = call.durationSeconds ?? 3600;
    if (!Number.isInteger(seconds) || seconds < 900)
      throw new StsError(400, 'ValidationError', "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900");
    if (seconds > 3600)
      throw new StsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    const role = roles.get(roleArn);
    if (!role || role.externalId !== externalId) {
      // what IAM answers for a role that does not exist and for one whose trust policy does not match alike
      throw new StsError(
        403,
        'AccessDenied',
        `User: arn:aws:sts::${account}:assumed-role/local/local is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    }
    call.ok = true;
    const expiration = new Date(Date.now() + seconds * 1000).toISOString();
    const roleId = `AROA${crypto.randomBytes(8).toString('hex').toUpperCase()}`;
    const random = (n: number) => crypto.randomBytes(n).toString('base64url');
    return (
      `<AssumeRoleResponse xmlns="${NS}"><AssumeRoleResult>` +
      `<AssumedRoleUser><AssumedRoleId>${roleId}:${xmlEscape(sessionName)}</AssumedRoleId>` +
      `<Arn>arn:aws:sts::${arn[1]}:assumed-role/${xmlEscape(arn[2]!)}/${xmlEscape(sessionName)}</Arn></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>ASIA${crypto.randomBytes(8).toString('hex').toUpperCase()}</AccessKeyId>` +
      `<SecretAccessKey>${random(30)}</SecretAccessKey><SessionToken>${random(96)}</SessionToken>` +
      `<Expiration>${expiration}</Expiration></Credentials>` +
      `</AssumeRoleResult><ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`
    );
  };

  const callerIdentity = (): string =>
    `<GetCallerIdentityResponse xmlns="${NS}"><GetCallerIdentityResult>` +
    `<Arn>arn:aws:sts::${account}:assumed-role/local/local</Arn><UserId>AROALOCAL:local</UserId><Account>${account}</Account>` +
    `</GetCallerIdentityResult><ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;

  const server = http.createServer((req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const requestId = crypto.randomUUID();
      try {
        if (req.method !== 'POST') throw new StsError(405, 'MethodNotAllowed', 'only POST');
        if (size > MAX_BODY) throw new StsError(413, 'RequestEntityTooLarge', 'request too large');
        const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        if (params.get('Version') !== '2011-06-15')
          throw new StsError(400, 'InvalidParameterValue', 'Version must be 2011-06-15');
        const action = params.get('Action');
        const body =
          action === 'AssumeRole'
            ? assumeRole(params)
            : action === 'GetCallerIdentity'
              ? callerIdentity()
              : (() => {
                  throw new StsError(400, 'InvalidAction', `Could not find operation ${action} for version 2011-06-15`);
                })();
        res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }).end(body);
      } catch (err) {
        const e = err instanceof StsError ? err : new StsError(500, 'InternalFailure', 'internal failure');
        res
          .writeHead(e.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId })
          .end(
            `<ErrorResponse xmlns="${NS}"><Error><Type>${e.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
              `<Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
          );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${opts.port} on 127.0.0.1 is in use: is the local stack already running? Set LOCAL_STS_PORT to use another port.`)
          : err,
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    addRole,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
