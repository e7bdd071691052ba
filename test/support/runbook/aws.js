#!/usr/bin/env node
/**
 * A stand-in for the AWS CLI in the runbook rehearsal (test/integration/runbook.test.ts): it knows the
 * commands docs/DEPLOY.md uses, checks their arguments as the CLI and the service would (required
 * options, file:// payloads that exist and parse, ARNs that look like ARNs), records each call in
 * RUNBOOK_AWS_LOG, and answers from RUNBOOK_STACK_OUTPUTS. An unknown command or a missing option fails,
 * so a runbook step the real CLI would refuse fails the rehearsal too. It never sends anything.
 */
'use strict';
const fs = require('node:fs');

const argv = process.argv.slice(2);
const fail = (message) => {
  process.stderr.write(`aws (rehearsal stand-in): ${message}\n`);
  process.exit(252);
};
const [service, op, ...rest] = argv;
if (!service || !op) fail('usage: aws <service> <operation> [options]');
const opts = {};
for (let i = 0; i < rest.length; i += 1) {
  const a = rest[i];
  if (!a.startsWith('--')) fail(`unexpected argument ${JSON.stringify(a)}`);
  const next = rest[i + 1];
  if (next === undefined || next.startsWith('--')) opts[a.slice(2)] = true;
  else {
    opts[a.slice(2)] = next;
    i += 1;
  }
}
fs.appendFileSync(process.env.RUNBOOK_AWS_LOG ?? '/dev/null', JSON.stringify({ service, op, opts }) + '\n');

const need = (...names) => {
  for (const n of names)
    if (typeof opts[n] !== 'string' || opts[n] === '') fail(`${service} ${op}: --${n} is required`);
};
const arn = (name, kind) => {
  if (!new RegExp(`^arn:aws[a-z-]*:${kind}:`).test(opts[name]))
    fail(`${service} ${op}: --${name} ${opts[name]} is not an ${kind} ARN`);
};
const outputs = () => JSON.parse(fs.readFileSync(process.env.RUNBOOK_STACK_OUTPUTS, 'utf8'));
const print = (value) =>
  process.stdout.write(typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`);

const commands = {
  'sts get-caller-identity': () =>
    print({
      UserId: 'AIDAREHEARSAL',
      Account: '123456789012',
      Arn: 'arn:aws:iam::123456789012:user/rehearsal',
    }),
  'cloudformation describe-stacks': () => {
    need('stack-name', 'query');
    const m = /^Stacks\[0\]\.Outputs\[\?OutputKey=='([A-Za-z0-9]+)'\]\.OutputValue$/.exec(opts.query);
    if (!m) fail(`cloudformation describe-stacks: unsupported --query ${opts.query}`);
    if (opts.output !== 'text')
      fail('cloudformation describe-stacks: the runbook reads one value: --output text');
    const all = outputs();
    if (opts['stack-name'] !== all.stackName) fail(`Stack with id ${opts['stack-name']} does not exist`);
    if (!(m[1] in all.outputs)) fail(`the stack has no output ${m[1]}`);
    print(all.outputs[m[1]]);
  },
  'secretsmanager create-secret': () => {
    need('name', 'secret-string');
    if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(opts.name)) fail(`invalid secret name ${opts.name}`);
    const value = opts['secret-string'].startsWith('file://')
      ? (() => {
          const file = opts['secret-string'].slice('file://'.length);
          if (!fs.existsSync(file))
            fail(
              `Error parsing parameter '--secret-string': Unable to load paramfile ${opts['secret-string']}`,
            );
          return fs.readFileSync(file, 'utf8');
        })()
      : opts['secret-string'];
    let json;
    try {
      json = JSON.parse(value);
    } catch {
      fail('the Snowflake secret must be JSON');
    }
    if (!/-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/.test(json.privateKey ?? ''))
      fail('the secret has no PEM privateKey');
    fs.appendFileSync(process.env.RUNBOOK_SECRETS, JSON.stringify({ name: opts.name, value: json }) + '\n');
    print({
      ARN: `arn:aws:secretsmanager:eu-west-2:123456789012:secret:${opts.name}-AbCdEf`,
      Name: opts.name,
    });
  },
  'secretsmanager delete-secret': () => need('secret-id'),
  'secretsmanager put-secret-value': () => need('secret-id', 'secret-string'),
  'sns subscribe': () => {
    need('topic-arn', 'protocol', 'notification-endpoint');
    arn('topic-arn', 'sns');
    print({ SubscriptionArn: 'pending confirmation' });
  },
  'sqs start-message-move-task': () => {
    need('source-arn');
    arn('source-arn', 'sqs');
    print({ TaskHandle: 'rehearsal' });
  },
  'sqs list-message-move-tasks': () => {
    need('source-arn');
    arn('source-arn', 'sqs');
    print({ Results: [] });
  },
  's3api list-object-versions': () => {
    need('bucket');
    // the rehearsal's buckets are emptied by the stand-in: no version left to list
    print(opts.output === 'json' ? 'null' : '');
  },
  's3api delete-objects': () => need('bucket', 'delete'),
  's3api delete-bucket': () => need('bucket'),
};
const command = commands[`${service} ${op}`];
if (!command)
  fail(`${service} ${op} is not a command the runbook uses (add it to the stand-in with its checks)`);
command();
