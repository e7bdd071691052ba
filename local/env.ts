/**
 * Imported first by every local entry point (CLI, stack, demo, bench): nothing here may send traffic
 * beyond loopback, and the local stage needs no configuration.
 * - snowflake-sdk probes cloud metadata addresses when loaded unless this is set;
 * - the AWS SDK probes the instance metadata address when it finds no credentials, so dummy
 *   credentials are set for the local stage (real stages bring their own).
 */
process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_REGION ??= 'eu-west-2';
if ((process.env.STAGE ?? 'local') === 'local') {
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
}

export {};
