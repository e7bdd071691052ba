/**
 * Object keys in S3 event notifications are URL-encoded the way HTML forms are
 * (application/x-www-form-urlencoded): "red flower.jpg" arrives as "red+flower.jpg", a literal '+' as
 * '%2B', '%' as '%25', '=' as '%3D' (so `transactions/d=2019-10-01/...` arrives as
 * `transactions/d%3D2019-10-01/...`). '/' is left as it is.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 * (the '/' and '=' behaviour: https://github.com/minio/minio/issues/11665, https://github.com/aws/aws-sam-cli/issues/379)
 */
import { InvalidInputError } from '../errors';

/**
 * The object key an S3 notification names. '+' must become a space *before* percent-decoding, or a
 * literal '+' (sent as %2B) would turn into a space. Throws InvalidInputError on malformed escapes.
 */
export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new InvalidInputError(`object key is not valid URL encoding: ${JSON.stringify(encoded)}`);
  }
}

/**
 * The key as S3 writes it into a notification: form encoding per path segment (the WHATWG
 * application/x-www-form-urlencoded serializer, which keeps only A-Z a-z 0-9 * - . _ and turns a space
 * into '+'), with the '/' separators kept. Used by the local stack and test factories to produce
 * real-shaped events.
 */
export function encodeS3Key(key: string): string {
  return key
    .split('/')
    .map((segment) => new URLSearchParams([['', segment]]).toString().slice(1))
    .join('/');
}
