/** Name rules shared by transfer requests and destinations. */

/**
 * S3 bucket naming rules (general purpose buckets), `..` included.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export const BUCKET_NAME =
  /^(?!xn--|sthree-|amzn-s3-demo-)(?!.*(-s3alias|--ol-s3|--x-s3|--table-s3)$)(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Run ids become a key segment: letters, digits, `_ . -`. */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

const PREFIX = /^([A-Za-z0-9_.=$-]{1,200})(\/[A-Za-z0-9_.=$-]{1,200})*$/;

/** A key prefix: `/`-separated segments of letters, digits, `_ . = $ -`, none `.` or `..`. */
export function PREFIX_RULE(p: string): boolean {
  return PREFIX.test(p) && !p.split('/').some((s) => s === '.' || s === '..');
}
