/**
 * The dependency-cycle checker on small handmade templates: it must find the cycles CloudFormation
 * rejects (including the S3-notification one this project is exposed to) and accept acyclic graphs.
 */
import { dependencyGraph, findCycles } from '../../.ci/lib/cfn-graph';
import type { CfnTemplate } from '../../.ci/lib/sls-package';

const bucketArnSub = { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::my-landing' };

/** The classic mistake: the queue policy names the bucket with a Ref while the bucket waits for it. */
function notificationTemplate(sourceArn: unknown): CfnTemplate {
  return {
    Resources: {
      Queue: { Type: 'AWS::SQS::Queue' },
      QueuePolicy: {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'Queue' }],
          PolicyDocument: {
            Statement: [{ Effect: 'Allow', Condition: { ArnEquals: { 'aws:SourceArn': sourceArn } } }],
          },
        },
      },
      Bucket: {
        Type: 'AWS::S3::Bucket',
        DependsOn: 'QueuePolicy',
        Properties: {
          BucketName: 'my-landing',
          NotificationConfiguration: { QueueConfigurations: [{ Queue: { 'Fn::GetAtt': ['Queue', 'Arn'] } }] },
        },
      },
    },
  };
}

describe('dependencyGraph', () => {
  it('follows DependsOn, Ref, both GetAtt forms and Fn::Sub references, and ignores pseudo parameters', () => {
    // Prepare
    const template: CfnTemplate = {
      Resources: {
        A: { Type: 'T', DependsOn: ['B'] },
        B: { Type: 'T', Properties: { X: { Ref: 'C' }, Y: { Ref: 'AWS::Region' } } },
        C: { Type: 'T', Properties: { X: { 'Fn::GetAtt': 'D.Arn' } } },
        D: { Type: 'T', Properties: { X: { 'Fn::GetAtt': ['E', 'Arn'] } } },
        E: { Type: 'T', Properties: { X: { 'Fn::Sub': 'arn:${AWS::Partition}:x:${F.Arn}:${!Literal}' } } },
        F: { Type: 'T', Properties: { X: { 'Fn::Sub': ['${Local}-${G}', { Local: { Ref: 'H' } }] } } },
        G: { Type: 'T' },
        H: { Type: 'T' },
      },
    };

    // Act
    const graph = dependencyGraph(template);

    // Assess
    const edges = Object.fromEntries([...graph].map(([node, targets]) => [node, [...targets].sort()]));
    expect(edges).toEqual({ A: ['B'], B: ['C'], C: ['D'], D: ['E'], E: ['F'], F: ['G', 'H'], G: [], H: [] });
  });
});

describe('findCycles', () => {
  it('finds the S3 notification cycle when the queue policy Refs the bucket', () => {
    // Prepare
    const template = notificationTemplate({ 'Fn::GetAtt': ['Bucket', 'Arn'] });

    // Act
    const cycles = findCycles(dependencyGraph(template));

    // Assess
    expect(cycles).toHaveLength(1);
    expect(new Set(cycles[0])).toEqual(new Set(['Bucket', 'QueuePolicy']));
    expect(cycles[0]![0]).toBe(cycles[0]![cycles[0]!.length - 1]);
  });

  it('accepts the same template when the policy names the bucket by its string ARN', () => {
    expect(findCycles(dependencyGraph(notificationTemplate(bucketArnSub)))).toEqual([]);
  });

  it('reports a self-reference and each separate cycle once, with a closed path', () => {
    // Prepare
    const template: CfnTemplate = {
      Resources: {
        Self: { Type: 'T', Properties: { X: { Ref: 'Self' } } },
        A: { Type: 'T', DependsOn: 'B' },
        B: { Type: 'T', Properties: { X: { Ref: 'C' } } },
        C: { Type: 'T', Properties: { X: { 'Fn::GetAtt': ['A', 'Arn'] } } },
        Free: { Type: 'T', DependsOn: 'A' },
      },
    };

    // Act
    const cycles = findCycles(dependencyGraph(template));

    // Assess
    const sorted = cycles.map((c) => c.join('>')).sort();
    expect(sorted).toEqual(['A>B>C>A', 'Self>Self']);
  });

  it('handles a long acyclic chain without recursion limits', () => {
    // Prepare: 5,000 resources in a line
    const resources: CfnTemplate['Resources'] = {};
    for (let i = 0; i < 5000; i += 1) resources[`R${i}`] = { Type: 'T', DependsOn: i > 0 ? `R${i - 1}` : [] };

    // Act / Assess
    expect(findCycles(dependencyGraph({ Resources: resources }))).toEqual([]);
  });
});
