-- migrate: admin
-- Account-level setup, run once per environment by an administrator (a user granted USERADMIN,
-- SECURITYADMIN, SYSADMIN and ACCOUNTADMIN):  npm run migrate -- --stage dev --admin
-- Idempotent: every statement is IF NOT EXISTS, a grant, or an ALTER that sets the same values again.
--
-- Roles (least privilege, https://docs.snowflake.com/en/user-guide/security-access-control-considerations):
--   {{LOAD_ROLE}}       ingest Lambda: reads the landing stage, writes the raw schema only
--   {{TRANSFORM_ROLE}}  rebuild/transfer Lambdas: reads raw, owns staging and analytics, unloads to exports
--   {{DEPLOY_ROLE}}     migrate Lambda: owns the schemas and everything the other scripts create, and
--                       nothing outside this database (never SYSADMIN: its key lives in a Lambda)
--   {{READ_ROLE}}       data scientists: reads analytics
-- The roles sit under SYSADMIN so administrators keep control of everything they create.
--
-- One service user per function, each granted only its own role. The client chooses the session role,
-- so a role is a boundary only if the user cannot use any other: Snowflake lets a user use only the
-- roles granted to it (https://docs.snowflake.com/en/sql-reference/sql/use-role), and each user's key
-- lives in that function's own secret. Public keys are set per user afterwards (docs/DEPLOY.md, step 5):
--   alter user {{INGEST_USER}} set rsa_public_key = 'MII...';
-- https://docs.snowflake.com/en/user-guide/key-pair-auth
-- https://docs.snowflake.com/en/sql-reference/sql/create-user (TYPE = SERVICE: no password, no MFA prompts)

use role useradmin;
create role if not exists {{LOAD_ROLE}} comment = 'shopping-patterns ingest: landing stage -> raw';
create role if not exists {{TRANSFORM_ROLE}} comment = 'shopping-patterns rebuild and transfer: raw -> staging, analytics, exports';
create role if not exists {{DEPLOY_ROLE}} comment = 'shopping-patterns migrate: owns the schemas of the database';
create role if not exists {{READ_ROLE}} comment = 'shopping-patterns readers of analytics';

-- CREATE ... IF NOT EXISTS, then ALTER ... SET: a rerun converges an existing user to these settings.
create user if not exists {{INGEST_USER}} type = service default_role = {{LOAD_ROLE}} default_warehouse = {{WAREHOUSE}}
  comment = 'shopping-patterns ingest Lambda';
alter user {{INGEST_USER}} set type = service default_role = {{LOAD_ROLE}} default_warehouse = {{WAREHOUSE}};
create user if not exists {{REBUILD_USER}} type = service default_role = {{TRANSFORM_ROLE}} default_warehouse = {{WAREHOUSE}}
  comment = 'shopping-patterns rebuild Lambda';
alter user {{REBUILD_USER}} set type = service default_role = {{TRANSFORM_ROLE}} default_warehouse = {{WAREHOUSE}};
create user if not exists {{TRANSFER_USER}} type = service default_role = {{TRANSFORM_ROLE}} default_warehouse = {{WAREHOUSE}}
  comment = 'shopping-patterns transfer Lambda';
alter user {{TRANSFER_USER}} set type = service default_role = {{TRANSFORM_ROLE}} default_warehouse = {{WAREHOUSE}};
create user if not exists {{MIGRATE_USER}} type = service default_role = {{DEPLOY_ROLE}} default_warehouse = {{WAREHOUSE}}
  comment = 'shopping-patterns migrate Lambda';
alter user {{MIGRATE_USER}} set type = service default_role = {{DEPLOY_ROLE}} default_warehouse = {{WAREHOUSE}};

use role securityadmin;
grant role {{READ_ROLE}} to role {{TRANSFORM_ROLE}};
grant role {{LOAD_ROLE}} to role sysadmin;
grant role {{TRANSFORM_ROLE}} to role sysadmin;
grant role {{DEPLOY_ROLE}} to role sysadmin;
-- each user exactly its function's role, and nothing else
grant role {{LOAD_ROLE}} to user {{INGEST_USER}};
grant role {{TRANSFORM_ROLE}} to user {{REBUILD_USER}};
grant role {{TRANSFORM_ROLE}} to user {{TRANSFER_USER}};
grant role {{DEPLOY_ROLE}} to user {{MIGRATE_USER}};

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
-- {{DEPLOY_ROLE}} runs the other scripts and owns what they create: it creates the schemas (SYSADMIN
-- keeps the database), and may pass on database usage (90_masking_policy.sql grants it to the partner
-- role), hence WITH GRANT OPTION. https://docs.snowflake.com/en/sql-reference/sql/grant-privilege
grant usage on database {{DATABASE}} to role {{DEPLOY_ROLE}} with grant option;
grant create schema on database {{DATABASE}} to role {{DEPLOY_ROLE}};
-- Warehouse and database usage for the pipeline roles:
grant usage on warehouse {{WAREHOUSE}} to role {{DEPLOY_ROLE}};
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
