/** A valid destination for tests; override what the test is about. */
import type { Destination } from '../../shared/delivery/destination';

export function acme(overrides: Record<string, unknown> = {}): Destination {
  return {
    name: 'acme',
    bucket: 'acme-drop',
    region: 'eu-west-2',
    account_id: '111122223333',
    access: { type: 'assume_role', role_arn: 'arn:aws:iam::111122223333:role/shopping-patterns-delivery-acme', external_id: 'ext-1234' },
    ...overrides,
  } as Destination;
}
