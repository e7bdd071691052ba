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
