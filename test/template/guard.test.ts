/**
 * The Guard runner: the real cfn-guard binary and Control Tower rules on small handmade templates (so
 * we know a bad template fails, not only that ours passes), and the suppression bookkeeping.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applySuppressions, ruleIds, scan, type Finding } from '../../.ci/lib/guard';
import type { CfnTemplate } from '../../.ci/lib/sls-package';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-test-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, template: CfnTemplate): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(template, null, 2));
  return file;
}

const hardenedBucketProperties = {
  BucketName: 'hardened-bucket',
  PublicAccessBlockConfiguration: {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  },
  OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
  BucketEncryption: {
    ServerSideEncryptionConfiguration: [
      {
        ServerSideEncryptionByDefault: {
          SSEAlgorithm: 'aws:kms',
          KMSMasterKeyID: 'arn:aws:kms:eu-west-2:123456789012:key/x',
        },
      },
    ],
  },
  VersioningConfiguration: { Status: 'Enabled' },
  LoggingConfiguration: { DestinationBucketName: 'some-log-bucket' },
  LifecycleConfiguration: {
    Rules: [{ Id: 'x', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }],
  },
  NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
  ObjectLockEnabled: true,
  ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
};

describe('scan (real cfn-guard, Control Tower rules)', () => {
  it('reports each Control Tower control a bare bucket and an IAM wildcard policy break, per resource', () => {
    // Prepare
    const file = write('insecure.json', {
      Resources: {
        BareBucket: { Type: 'AWS::S3::Bucket', Properties: {} },
        AdminRole: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: {
              Statement: [
                { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
              ],
            },
            Policies: [
              {
                PolicyName: 'admin',
                PolicyDocument: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
              },
            ],
          },
        },
      },
    });

    // Act
    const findings = scan(file);

    // Assess
    const on = (resource: string) =>
      new Set(findings.filter((f) => f.resource === resource).map((f) => f.rule));
    // the bucket: no public access block, no logging, no versioning, no lifecycle, no notifications, no KMS
    for (const rule of [
      'ct-s3-pr-1',
      'ct-s3-pr-2',
      'ct-s3-pr-4',
      'ct-s3-pr-6',
      'ct-s3-pr-10',
      'ct-s3-pr-11',
    ]) {
      expect(on('BareBucket')).toContain(rule);
    }
    // the role: "*" action on "*" resource, and a wildcard service action
    expect(on('AdminRole')).toContain('ct-iam-pr-1');
    expect(on('AdminRole')).toContain('ct-iam-pr-5');
    expect(findings.every((f) => f.message.startsWith('[CT.'))).toBe(true);
  });

  it('finds nothing wrong with a fully hardened bucket', () => {
    // Prepare
    const file = write('hardened.json', {
      Resources: { Hardened: { Type: 'AWS::S3::Bucket', Properties: hardenedBucketProperties } },
    });

    // Act / Assess
    expect(scan(file)).toEqual([]);
  });
});

describe('applySuppressions', () => {
  const finding = (resource: string, rule: string): Finding => ({
    resource,
    rule,
    ruleName: rule,
    message: `[${rule}]`,
  });
  const known = new Set(['ct-s3-pr-9', 'ct-s3-pr-10', 'ct-lambda-pr-3']);
  const reason = 'A reason long enough to say why this control does not apply here.';

  it('suppresses a finding only on the resource that names the rule, with its reason', () => {
    // Prepare
    const template: CfnTemplate = {
      Resources: {
        A: {
          Type: 'AWS::S3::Bucket',
          Metadata: { guard: { SuppressedRules: ['ct-s3-pr-9'], Reasons: { 'ct-s3-pr-9': reason } } },
        },
        B: { Type: 'AWS::S3::Bucket' },
      },
    };

    // Act
    const report = applySuppressions(
      [finding('A', 'ct-s3-pr-9'), finding('B', 'ct-s3-pr-9'), finding('A', 'ct-s3-pr-10')],
      template,
      known,
    );

    // Assess
    expect(report.suppressed.map((s) => [s.resource, s.rule, s.reason])).toEqual([
      ['A', 'ct-s3-pr-9', reason],
    ]);
    expect(report.failures.map((f) => [f.resource, f.rule])).toEqual([
      ['B', 'ct-s3-pr-9'],
      ['A', 'ct-s3-pr-10'],
    ]);
    expect(report.problems).toEqual([]);
  });

  it('refuses a suppression without a reason, of an unknown rule, or matching no finding', () => {
    // Prepare
    const template: CfnTemplate = {
      Resources: {
        NoReason: { Type: 'T', Metadata: { guard: { SuppressedRules: ['ct-s3-pr-9'] } } },
        ShortReason: {
          Type: 'T',
          Metadata: { guard: { SuppressedRules: ['ct-s3-pr-9'], Reasons: { 'ct-s3-pr-9': 'because' } } },
        },
        Unknown: {
          Type: 'T',
          Metadata: {
            guard: { SuppressedRules: ['ct-made-up-pr-1'], Reasons: { 'ct-made-up-pr-1': reason } },
          },
        },
        Stale: {
          Type: 'T',
          Metadata: { guard: { SuppressedRules: ['ct-lambda-pr-3'], Reasons: { 'ct-lambda-pr-3': reason } } },
        },
      },
    };

    // Act
    const report = applySuppressions(
      [finding('NoReason', 'ct-s3-pr-9'), finding('ShortReason', 'ct-s3-pr-9')],
      template,
      known,
    );

    // Assess: both findings still fail, and every bad suppression is named
    expect(report.failures).toHaveLength(2);
    expect(report.problems).toEqual([
      'NoReason: suppression of ct-s3-pr-9 has no reason (Metadata.guard.Reasons.ct-s3-pr-9)',
      'ShortReason: suppression of ct-s3-pr-9 has no reason (Metadata.guard.Reasons.ct-s3-pr-9)',
      'Unknown: suppresses unknown rule ct-made-up-pr-1',
      'Stale: suppression of ct-lambda-pr-3 matches no finding (remove it)',
    ]);
  });

  it('knows the rule ids shipped with the package by their file names', () => {
    // Act
    const ids = ruleIds();

    // Assess
    expect(ids.has('ct-s3-pr-1')).toBe(true);
    expect(ids.has('ct-iam-pr-1')).toBe(true);
    expect(ids.size).toBeGreaterThan(200);
  });
});
