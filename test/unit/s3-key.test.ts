/**
 * S3 notification key encoding. The reference below is written from the definition (form encoding:
 * UTF-8 bytes, A-Z a-z 0-9 * - . _ kept, space as '+', everything else %XX; '/' kept by S3), not from
 * the implementation.
 */
import { InvalidInputError } from '../../shared/errors';
import { decodeS3Key, encodeS3Key } from '../../shared/events/s3-key';

function referenceEncode(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9*\-._/]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** A deterministic pseudo-random key with awkward characters (no lone surrogates: S3 keys are UTF-8). */
function awkwardKey(seed: number): string {
  const alphabet = [...'ab Z09/+%=&?#~!*()\'",;:@$[]{}^`|<>\\-._', 'é', 'ü', '€', '日本', '😀', '\t'];
  let x = seed * 2654435761;
  let key = '';
  for (let i = 0; i < 1 + (seed % 17); i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    key += alphabet[x % alphabet.length];
  }
  return key;
}

describe('encodeS3Key', () => {
  it.each([
    ['red flower.jpg', 'red+flower.jpg'], // the AWS documentation's example
    ['transactions/d=2019-10-01/transactions.json', 'transactions/d%3D2019-10-01/transactions.json'],
    ['starter/my file+v1%.csv', 'starter/my+file%2Bv1%25.csv'],
    ['customers.csv', 'customers.csv'],
  ])('encodes %j as S3 does: %j', (key, expected) => {
    expect(encodeS3Key(key)).toBe(expected);
    expect(encodeS3Key(key)).toBe(referenceEncode(key));
  });

  it('agrees with the reference encoder on awkward keys, and decodes back to the same key', () => {
    // Prepare
    const keys = Array.from({ length: 500 }, (_, i) => awkwardKey(i + 1));

    // Act
    const encoded = keys.map(encodeS3Key);

    // Assess
    expect(encoded).toEqual(keys.map(referenceEncode));
    expect(encoded.map(decodeS3Key)).toEqual(keys);
    expect(encoded.filter((e) => /[^A-Za-z0-9*\-._/+%]/.test(e))).toEqual([]);
  });
});

describe('decodeS3Key', () => {
  it.each([
    ['red+flower.jpg', 'red flower.jpg'],
    ['transactions/d%3D2019-10-01/day+one%2B%25.json', 'transactions/d=2019-10-01/day one+%.json'],
    ['a%2Bb+c', 'a+b c'], // '+' means space, only %2B is a plus
    ['caf%C3%A9.csv', 'café.csv'],
    ['transactions/d=2019-10-01/x.json', 'transactions/d=2019-10-01/x.json'], // unencoded '=' passes through
  ])('decodes %j to %j', (encoded, key) => {
    expect(decodeS3Key(encoded)).toBe(key);
  });

  it.each(['100%.csv', 'bad%zzescape', '%E0%A4%A'])(
    'rejects malformed encoding %j with InvalidInputError',
    (encoded) => {
      expect(() => decodeS3Key(encoded)).toThrow(InvalidInputError);
      expect(() => decodeS3Key(encoded)).toThrow(/not valid URL encoding/);
    },
  );
});
