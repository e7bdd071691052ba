/**
 * What the stakeholder creates: the policy documents the code generates (npm run destination --
 * policy) say what the delivery needs and no more, and docs/TRANSFER.md shows exactly those documents.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  bucketPolicy,
  keyPolicyStatement,
  rolePolicy,
  stakeholderSetup,
  transferRoleArn,
  trustPolicy,
} from '../../shared/delivery/policies';
import { acme } from '../support/destinations';

const OURS = { accountId: 'OUR_ACCOUNT_ID', stage: 'prod', region: 'eu-west-2' };
const D = {
  bucket: 'STAKEHOLDER_BUCKET',
  prefix: 'shopping',
  kms_key_arn: 'arn:aws:kms:eu-west-2:STAKEHOLDER_ACCOUNT_ID:key/KEY_ID',
  region: 'eu-west-2',
};

/** The JSON block that follows `<!-- policy:NAME -->` in docs/TRANSFER.md. */
function documented(name: string): unknown {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'TRANSFER.md'), 'utf8');
  const m = new RegExp(`<!-- policy:${name} -->\\n\`\`\`json\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!m) throw new Error(`no policy:${name} block in docs/TRANSFER.md`);
  return JSON.parse(m[1]!);
}

describe('stakeholder policies', () => {
  it('trust our transfer role only, and only with the external ID', () => {
    const statement = trustPolicy(OURS, 'EXTERNAL_ID').Statement[0]!;
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'sts:ExternalId': 'EXTERNAL_ID' },
        ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::OUR_ACCOUNT_ID:role/shopping-patterns-prod-eu-west-2-transfer' },
      },
    });
    expect(transferRoleArn({ ...OURS, partition: 'aws-cn' })).toBe('arn:aws-cn:iam::OUR_ACCOUNT_ID:role/shopping-patterns-prod-eu-west-2-transfer');
  });

  it('allow what a transfer sends, on the prefix only; the key only when there is one', () => {
    const withKey = rolePolicy(D).Statement;
    expect(withKey.map((s) => s.Action)).toEqual([['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'], 's3:ListBucket', ['kms:GenerateDataKey', 'kms:Decrypt']]);
    expect(rolePolicy({ ...D, kms_key_arn: undefined }).Statement).toHaveLength(2);
    // no prefix: the whole bucket, and ListBucket without a condition
    expect(rolePolicy({ bucket: 'b', prefix: '' }).Statement.map((s) => [s.Resource, s.Condition])).toEqual([
      ['arn:aws:s3:::b/*', undefined],
      ['arn:aws:s3:::b', undefined],
    ]);
    // the default prefix of a destination without one is the transfer's default
    expect(rolePolicy({ bucket: 'b' }).Statement[0]!.Resource).toBe('arn:aws:s3:::b/transfer/*');
  });

  it('are the documents docs/TRANSFER.md shows', () => {
    expect(documented('trust')).toEqual(trustPolicy(OURS, 'EXTERNAL_ID'));
    expect(documented('role')).toEqual(rolePolicy(D));
    expect(documented('bucket')).toEqual(bucketPolicy(OURS, D));
    expect(documented('key')).toEqual(keyPolicyStatement(OURS, D));
  });

  it("fit the destination's way to write", () => {
    expect(stakeholderSetup(OURS, acme()).map((p) => p.title)).toEqual([
      'Trust policy of the role shopping-patterns-delivery-acme in account 111122223333',
      'Permissions policy of the role shopping-patterns-delivery-acme',
    ]);
    expect(stakeholderSetup(OURS, acme({ access: { type: 'bucket_policy' }, kms_key_arn: 'arn:aws:kms:eu-west-2:111122223333:key/k' })).map((p) => p.title)).toEqual([
      'Bucket policy of s3://acme-drop (account 111122223333)',
      'Key policy statement to add to arn:aws:kms:eu-west-2:111122223333:key/k',
    ]);
  });
});
