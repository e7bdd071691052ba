/**
 * The API function is wiring only: it refuses what is not a signed, well-formed request before the
 * transfer function is called, relays the transfer function's answer, and never passes on an error
 * as anything but a 502. The routes match what serverless.yml declares.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { apiHandler, matchRoute, MAX_BODY_BYTES } from '../../functions/api';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { lambdaTransferFunction, setTransferFunction } from '../../shared/delivery/invoke';
import { setLogSink } from '../../shared/logger';

const calls: Array<Record<string, unknown>> = [];
let answer: unknown = { status: 202, body: { run_id: 'r1', status: 'queued' }, headers: { location: '/transfers/r1' } };
let fail = false;

beforeAll(() => setLogSink(() => undefined));
afterAll(() => {
  setLogSink((line) => process.stderr.write(line + '\n'));
  setTransferFunction(undefined);
});
beforeEach(() => {
  calls.length = 0;
  fail = false;
  setTransferFunction({
    call: async (event) => {
      calls.push(event);
      if (fail) throw new Error('boom');
      return answer;
    },
    start: async () => undefined,
  });
});

const CALLER = 'arn:aws:sts::123456789012:assumed-role/partner/session';

function event(over: Partial<APIGatewayProxyEventV2WithIAMAuthorizer> & { caller?: string | null } = {}): APIGatewayProxyEventV2WithIAMAuthorizer {
  const { caller = CALLER, ...rest } = over;
  return {
    version: '2.0',
    routeKey: 'POST /transfers',
    rawPath: '/transfers',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ source_table: 'T', destination: 'acme' }),
    isBase64Encoded: false,
    requestContext: {
      authorizer: caller === null ? undefined : { iam: { userArn: caller, accountId: '123456789012' } },
    },
    ...rest,
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

const body = (r: { body?: string }) => JSON.parse(r.body ?? '{}') as Record<string, unknown>;

describe('POST /transfers', () => {
  it('hands the request, the Idempotency-Key and the signed caller to the transfer function and relays its answer', async () => {
    const res = await apiHandler(event({ headers: { 'Content-Type': 'application/json; charset=utf-8', 'Idempotency-Key': 'order-1' } }));
    expect(res.statusCode).toBe(202);
    expect(res.headers).toMatchObject({ location: '/transfers/r1', 'content-type': 'application/json' });
    expect(body(res)).toEqual({ run_id: 'r1', status: 'queued' });
    expect(calls).toEqual([
      { action: 'submit', request: { source_table: 'T', destination: 'acme' }, idempotency_key: 'order-1', requested_by: CALLER },
    ]);
  });

  it.each([
    ['an unsigned request (no IAM identity)', event({ caller: null }), 403, 'forbidden'],
    ['another content type', event({ headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type'],
    ['a body that is not JSON', event({ body: '{nope' }), 400, 'bad_request'],
    ['a JSON array', event({ body: '[]' }), 400, 'bad_request'],
    ['a body too large', event({ body: JSON.stringify({ source_table: 'x'.repeat(MAX_BODY_BYTES) }) }), 413, 'too_large'],
  ])('refuses %s before calling the transfer function', async (_what, e, status, error) => {
    const res = await apiHandler(e);
    expect([res.statusCode, body(res).error]).toEqual([status, error]);
    expect(calls).toEqual([]);
  });

  it('reads a base64 body', async () => {
    await apiHandler(event({ body: Buffer.from(JSON.stringify({ source_table: 'B', destination: 'acme' })).toString('base64'), isBase64Encoded: true }));
    expect(calls[0]!.request).toEqual({ source_table: 'B', destination: 'acme' });
  });

  it('answers 502, never the internal error, when the transfer function fails', async () => {
    fail = true;
    const res = await apiHandler(event());
    expect(res.statusCode).toBe(502);
    expect(res.body).not.toMatch(/boom/);
  });
});

describe('GET /transfers/{run_id}', () => {
  it('asks the transfer function for the status and relays it', async () => {
    answer = { status: 200, body: { run_id: 'r1', status: 'succeeded', result: { file_name: 'f', row_count: 3, timestamp: 't' } } };
    const res = await apiHandler(event({ routeKey: 'GET /transfers/{run_id}', pathParameters: { run_id: 'r1' }, body: undefined }));
    expect(res.statusCode).toBe(200);
    expect(body(res).result).toEqual({ file_name: 'f', row_count: 3, timestamp: 't' });
    expect(calls).toEqual([{ action: 'status', run_id: 'r1' }]);
  });
});

describe('routes', () => {
  it('match the two routes of serverless.yml and nothing else', () => {
    expect(matchRoute('POST', '/transfers')).toEqual({ routeKey: 'POST /transfers', pathParameters: {} });
    expect(matchRoute('GET', '/transfers/run%201')).toEqual({ routeKey: 'GET /transfers/{run_id}', pathParameters: { run_id: 'run 1' } });
    expect(matchRoute('GET', '/transfers')).toBeUndefined();
    expect(matchRoute('DELETE', '/transfers/r1')).toBeUndefined();
    expect(matchRoute('POST', '/transfers/r1/x')).toBeUndefined();
  });
});

describe('the transfer function through Lambda (aws-sdk-client-mock)', () => {
  const lambda = mockClient(LambdaClient);
  beforeEach(() => lambda.reset());

  it('starts a run as an asynchronous (Event) invocation and calls synchronously for answers', async () => {
    lambda.on(InvokeCommand, { InvocationType: 'Event' }).resolves({ StatusCode: 202 });
    lambda.on(InvokeCommand, { InvocationType: 'RequestResponse' }).resolves({ StatusCode: 200, Payload: Buffer.from('{"status":200,"body":{}}') as never });
    const fn = lambdaTransferFunction('shopping-patterns-dev-transfer', 'eu-west-2', new LambdaClient({ region: 'eu-west-2' }));
    await fn.start({ source_table: 'T', destination: 'acme', run_id: 'r1' });
    expect(await fn.call({ action: 'status', run_id: 'r1' })).toEqual({ status: 200, body: {} });
    const sentInputs = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(sentInputs.map((i) => [i.FunctionName, i.InvocationType, JSON.parse(Buffer.from(i.Payload as Uint8Array).toString())])).toEqual([
      ['shopping-patterns-dev-transfer', 'Event', { source_table: 'T', destination: 'acme', run_id: 'r1' }],
      ['shopping-patterns-dev-transfer', 'RequestResponse', { action: 'status', run_id: 'r1' }],
    ]);
  });

  it('a function error or a start Lambda did not accept is an error', async () => {
    lambda.on(InvokeCommand, { InvocationType: 'Event' }).resolves({ StatusCode: 500 });
    lambda
      .on(InvokeCommand, { InvocationType: 'RequestResponse' })
      .resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: Buffer.from('{"errorType":"Error","errorMessage":"no"}') as never });
    const fn = lambdaTransferFunction('f', 'eu-west-2', new LambdaClient({ region: 'eu-west-2' }));
    await expect(fn.start({})).rejects.toThrow(/did not accept the run \(status 500\)/);
    await expect(fn.call({ action: 'status', run_id: 'r' })).rejects.toThrow(/f failed \(Unhandled\): Error: no/);
  });
});
