/**
 * api: the HTTP API for transfer_data (API Gateway HTTP API, payload format 2.0, IAM authorisation:
 * every request is signed with SigV4 by an IAM principal allowed `execute-api:Invoke` on it).
 *
 *   POST /transfers            body: the transfer request (as for the transfer function); optional
 *                              header Idempotency-Key. 202 {run_id, status: "queued", status_url, ...}
 *                              at once; the transfer runs asynchronously in the transfer function.
 *                              A repeat (same Idempotency-Key from the same caller, or same run_id)
 *                              answers the same run. 400 names what is wrong; 409: the run id belongs
 *                              to another request.
 *   GET  /transfers/{run_id}   200 {run_id, status: queued|running|succeeded|failed, ...}; when
 *                              succeeded, `result` is exactly what transfer_data returned.
 *
 * Wiring only, and no credentials: it reads no warehouse, no destination and no bucket. It invokes
 * the transfer function (shared/delivery/handler.ts), which does all that with its own role.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ApiAnswer } from '../shared/delivery/handler';
import { transferFunction } from '../shared/delivery/invoke';
import { errorMessage } from '../shared/errors';
import { logger } from '../shared/logger';
import { invocationLog } from '../shared/middleware';

const log = logger.child({ fn: 'api' });

/** A transfer request is small; a body beyond this is refused rather than parsed. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The routes serverless.yml declares (the local stack's server matches with the same table). */
export const ROUTES = [
  { method: 'POST', pattern: /^\/transfers$/, routeKey: 'POST /transfers', params: [] as string[] },
  { method: 'GET', pattern: /^\/transfers\/([^/]+)$/, routeKey: 'GET /transfers/{run_id}', params: ['run_id'] },
] as const;

export function matchRoute(method: string, path: string): { routeKey: string; pathParameters: Record<string, string> } | undefined {
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (m && r.method === method) {
      return {
        routeKey: r.routeKey,
        pathParameters: Object.fromEntries(r.params.map((p, i) => [p, decodeURIComponent(m[i + 1]!)])),
      };
    }
  }
  return undefined;
}

type Event = APIGatewayProxyEventV2WithIAMAuthorizer;
type Result = APIGatewayProxyStructuredResultV2;

const json = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Result => ({
  statusCode: status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

const relay = (answer: ApiAnswer): Result => json(answer.status, answer.body, answer.headers);

export const apiHandler = async (event: Event): Promise<Result> => {
  // API Gateway lets only signed, authorised requests through; a route left without IAM
  // authorisation by mistake must not turn into an open door
  const caller = event.requestContext?.authorizer?.iam?.userArn;
  if (!caller) return json(403, { error: 'forbidden', message: 'requests must be signed with AWS credentials (IAM authorisation)' });
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v ?? '']));
  try {
    switch (event.routeKey) {
      case 'POST /transfers': {
        const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json') return json(415, { error: 'unsupported_media_type', message: 'send the request as Content-Type: application/json' });
        const raw = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
        if (Buffer.byteLength(raw) > MAX_BODY_BYTES) return json(413, { error: 'too_large', message: `the request is larger than ${MAX_BODY_BYTES} bytes` });
        let request: unknown;
        try {
          request = JSON.parse(raw);
        } catch {
          return json(400, { error: 'bad_request', message: 'the body is not JSON' });
        }
        if (!request || typeof request !== 'object' || Array.isArray(request)) return json(400, { error: 'bad_request', message: 'the body must be a JSON object: the transfer request' });
        const key = headers['idempotency-key'];
        const answer = (await transferFunction().call({
          action: 'submit',
          request,
          ...(key ? { idempotency_key: key } : {}),
          requested_by: caller,
        })) as ApiAnswer;
        log.info('transfer requested', { caller, status: answer.status, runId: answer.body.run_id });
        return relay(answer);
      }
      case 'GET /transfers/{run_id}':
        return relay((await transferFunction().call({ action: 'status', run_id: event.pathParameters?.run_id ?? '' })) as ApiAnswer);
      default:
        return json(404, { error: 'not_found', message: `no route ${event.routeKey}` });
    }
  } catch (err) {
    log.error('the transfer function failed', { error: errorMessage(err) });
    return json(502, { error: 'backend_failed', message: 'the transfer function failed; try again (the same Idempotency-Key is safe)' });
  }
};

export const handler = middy<Event, Result>(apiHandler).use(invocationLog(log));
