/**
 * The HTTP API for transfer_data on loopback: the same routes and the same handler as on AWS
 * (functions/api.ts, API Gateway HTTP API payload format 2.0), with the stack's per-start token in
 * place of IAM authorisation.
 *
 * On AWS, API Gateway lets through only requests signed (SigV4) by an IAM principal allowed
 * execute-api:Invoke, and tells the function who signed (`requestContext.authorizer.iam`). Here:
 * - every request carries `Authorization: Bearer <apiToken>`, a secret drawn at each start and kept
 *   in `<LOCAL_DIR>/stack.json` (mode 0600, as the warehouse endpoint's token); without it: 401;
 * - the caller handed to the function is the local user (`arn:aws:sts::000000000000:assumed-role/local/<user>`);
 * - a request from a web page (an `Origin` header) is refused (403), and a preflight (OPTIONS) gets
 *   405 without any Access-Control-* header, so no page can call it;
 * - a path or method outside the routes answers 404 `{"message":"Not Found"}`, as API Gateway does.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from '../../shared/config';
import { errorMessage } from '../../shared/errors';

type Handler = (event: APIGatewayProxyEventV2WithIAMAuthorizer) => Promise<APIGatewayProxyStructuredResultV2>;

/** Far above what the handler takes (it refuses more than 64 KiB itself); API Gateway's own limit is 10 MB. */
const MAX_BODY_BYTES = 1024 * 1024;

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return given !== '' && timingSafeEqual(digest(given), digest(token));
}

export async function startApiServer(opts: {
  port: number;
  token: string;
  handler: Handler;
  match: (method: string, path: string) => { routeKey: string; pathParameters: Record<string, string> } | undefined;
}): Promise<{ url: string; close(): Promise<void> }> {
  if (opts.token.length < 32) throw new Error('the API needs a token of at least 32 characters');
  const caller = `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/local/${os.userInfo().username.replace(/[^\w+=,.@-]/g, '-')}`;
  const server = http.createServer((req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.headers.origin !== undefined) return send(403, { message: 'requests from web pages are refused' }, { connection: 'close' });
    if (req.method === 'OPTIONS') return send(405, { message: 'no CORS' }, { connection: 'close' });
    if (!tokenMatches(req.headers.authorization, opts.token)) {
      return send(401, { message: 'missing or wrong token: the local stack writes it to its stack.json (apiToken)' }, { connection: 'close' });
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = opts.match(req.method ?? 'GET', url.pathname);
    if (!route) return send(404, { message: 'Not Found' }, { connection: 'close' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        send(413, { message: 'Request Entity Too Large' }, { connection: 'close' });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      const now = new Date();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined && k !== 'authorization') headers[k] = Array.isArray(v) ? v.join(',') : v;
      }
      const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
      const event = {
        version: '2.0',
        routeKey: route.routeKey,
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        pathParameters: route.pathParameters,
        body,
        isBase64Encoded: false,
        requestContext: {
          accountId: LOCAL_ACCOUNT_ID,
          apiId: 'local',
          domainName: url.host,
          domainPrefix: 'local',
          http: { method: req.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: req.headers['user-agent'] ?? '' },
          requestId: randomUUID(),
          routeKey: route.routeKey,
          stage: '$default',
          time: now.toISOString(),
          timeEpoch: now.getTime(),
          authorizer: {
            iam: {
              accessKey: 'local',
              accountId: LOCAL_ACCOUNT_ID,
              callerId: 'local',
              cognitoIdentity: null,
              principalOrgId: null,
              userArn: caller,
              userId: 'local',
            },
          },
        },
      } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
      opts.handler(event).then(
        (result) => send(result.statusCode ?? 200, result.body ?? '', (result.headers ?? {}) as Record<string, string>),
        (err: unknown) => send(500, { message: `Internal Server Error: ${errorMessage(err)}` }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${opts.port} on 127.0.0.1 is in use: set LOCAL_API_PORT to use another port`) : err),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
