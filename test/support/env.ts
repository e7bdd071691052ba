/**
 * Safety first, before any module loads: nothing in the tests may leave loopback.
 * - snowflake-sdk probes cloud metadata addresses at load time unless this is set;
 * - the AWS SDK probes the instance metadata address when it finds no credentials.
 */
process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.AWS_REGION ??= 'eu-west-2';
process.env.LOG_LEVEL ??= 'error';
delete process.env.AWS_PROFILE;
