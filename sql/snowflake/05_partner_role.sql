-- migrate: admin
-- The external partner's role (data sharing). Account-level, so an administrator runs it
-- once per environment with the other admin script:  npm run migrate -- --stage dev --admin
-- What the role may read, and how customer_id is masked for it: 90_masking_policy.sql.
-- Under SYSADMIN, like the pipeline roles, so administrators keep control of it.
-- https://docs.snowflake.com/en/user-guide/security-access-control-considerations

use role useradmin;
create role if not exists {{PARTNER_ROLE}} comment = 'shopping-patterns external partner: analytics views, customer_id masked';

use role securityadmin;
grant role {{PARTNER_ROLE}} to role sysadmin;

-- Every query runs on a warehouse, and a role can use only a warehouse it has USAGE on ("Enables using a
-- virtual warehouse and, as a result, executing queries on the warehouse"): without this grant the
-- partner can see the views but not run one select. The pipeline's warehouse, as the readers have it
-- (00_account.sql); the warehouse's owner grants it.
-- https://docs.snowflake.com/en/user-guide/security-access-control-privileges#virtual-warehouse-privileges
use role sysadmin;
grant usage on warehouse {{WAREHOUSE}} to role {{PARTNER_ROLE}};
