-- migrate: admin
-- Account-level setup, run once per environment by an administrator (a user granted USERADMIN,
-- SECURITYADMIN, SYSADMIN and ACCOUNTADMIN):  npm run migrate -- --stage dev --admin
-- Idempotent: every statement is IF NOT EXISTS, a grant, or an ALTER that sets the same values again.
--
-- Roles (least privilege, https://docs.snowflake.com/en/user-guide/security-access-control-considerations):
--   {{LOAD_ROLE}}       ingest Lambda: reads the landing stage, writes the raw schema only
--   {{TRANSFORM_ROLE}}  rebuild/transfer Lambdas: reads raw, owns staging and analytics, unloads to exports
--   {{READ_ROLE}}       data scientists: reads analytics
-- The roles sit under SYSADMIN so administrators keep control of everything they create.
-- Users are created outside this script, each with its public key (key-pair auth):
--   create user if not exists SP_LOADER type = service default_role = {{LOAD_ROLE}}
--     default_warehouse = {{WAREHOUSE}} rsa_public_key = '<MII...>';
--   grant role {{LOAD_ROLE}} to user SP_LOADER;
-- https://docs.snowflake.com/en/user-guide/key-pair-auth

use role useradmin;
create role if not exists {{LOAD_ROLE}} comment = 'shopping-patterns ingest: landing stage -> raw';
create role if not exists {{TRANSFORM_ROLE}} comment = 'shopping-patterns rebuild and transfer: raw -> staging, analytics, exports';
create role if not exists {{READ_ROLE}} comment = 'shopping-patterns readers of analytics';

use role securityadmin;
grant role {{READ_ROLE}} to role {{TRANSFORM_ROLE}};
grant role {{LOAD_ROLE}} to role sysadmin;
grant role {{TRANSFORM_ROLE}} to role sysadmin;

use role sysadmin;
-- XSMALL, suspended when idle: ingest and the weekly rebuild are short, bursty jobs
-- https://docs.snowflake.com/en/user-guide/warehouses-considerations
create warehouse if not exists {{WAREHOUSE}}
  warehouse_size = xsmall
  auto_suspend = 60
  auto_resume = true
  initially_suspended = true
  comment = 'shopping-patterns';
create database if not exists {{DATABASE}} comment = 'shopping-patterns: raw, staging, analytics';
-- {{DEPLOY_ROLE}} runs the other scripts and owns what they create; it must be able to create schemas
-- here (the default, SYSADMIN, owns the database). Warehouse and database usage for the pipeline roles:
grant usage on warehouse {{WAREHOUSE}} to role {{LOAD_ROLE}};
grant usage on warehouse {{WAREHOUSE}} to role {{TRANSFORM_ROLE}};
grant usage on warehouse {{WAREHOUSE}} to role {{READ_ROLE}};
grant usage on database {{DATABASE}} to role {{LOAD_ROLE}};
grant usage on database {{DATABASE}} to role {{TRANSFORM_ROLE}};
grant usage on database {{DATABASE}} to role {{READ_ROLE}};

use role accountadmin;
-- One integration for both buckets: Snowflake assumes {{ROLE_ARN}} to read landing and write exports.
-- After the first run, DESC INTEGRATION gives STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID for
-- the IAM role's trust policy. ALTER (not CREATE OR REPLACE) keeps the external id stable.
-- https://docs.snowflake.com/en/user-guide/data-load-s3-config-storage-integration
create storage integration if not exists {{STORAGE_INTEGRATION}}
  type = external_stage
  storage_provider = 'S3'
  enabled = true
  storage_aws_role_arn = '{{ROLE_ARN}}'
  storage_allowed_locations = ('{{LANDING_URL}}', '{{EXPORT_URL}}');
alter storage integration {{STORAGE_INTEGRATION}} set
  storage_aws_role_arn = '{{ROLE_ARN}}'
  storage_allowed_locations = ('{{LANDING_URL}}', '{{EXPORT_URL}}');
grant usage on integration {{STORAGE_INTEGRATION}} to role {{DEPLOY_ROLE}};

use role {{DEPLOY_ROLE}};
