/**
 * S3 event notifications carry object keys URL-encoded the way HTML forms are: a space becomes '+',
 * and '+' itself becomes '%2B'. Decoding must therefore turn '+' into a space *before*
 * percent-decoding. https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export function decodeS3Key(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** The inverse of decodeS3Key, as S3 writes keys into notifications. */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}
