-- Partner access to the purchase data with customer_id pseudonymised.
--
-- A masking policy on customer_id: the roles entitled to the id, {{READ_ROLE}} and the roles above it
-- ({{TRANSFORM_ROLE}}, SYSADMIN, ACCOUNTADMIN), see it; every other session, the partner's included, sees
-- a keyed SHA-256 of the id (stable, so partners can still count and join per customer, but cannot
-- recover the id by hashing C1..Cn themselves). The rebuild attaches the policy to the
-- customer_id column of every analytics table it builds, on the `__next` table before the swap,
-- because ALTER TABLE ... SWAP WITH moves policies along with the table
-- (shared/models/runner.ts). Views need no policy of their own: the policy on the table column
-- applies to every view that reads it (a second one on the view would hash the hash).
--
-- Needs Enterprise Edition. Idempotent: every statement is IF NOT EXISTS or a grant. Run by
-- {{DEPLOY_ROLE}} like the other non-admin scripts; the partner role itself is created by the admin
-- script 05_partner_role.sql.
-- https://docs.snowflake.com/en/user-guide/security-column-ddm-use
-- https://docs.snowflake.com/en/user-guide/security-column-advanced (mapping tables, IS_ROLE_IN_SESSION)
--
-- Placeholders: {{DATABASE}}, {{TRANSFORM_ROLE}} (owns the analytics tables, runs the rebuild),
-- {{READ_ROLE}} (the data scientists), {{PARTNER_ROLE}} (the external partner's role).
--
-- Who sees the clear id is decided by IS_ROLE_IN_SESSION('{{READ_ROLE}}'), an allow-list, and not by
-- naming the partner:
-- - IS_ROLE_IN_SESSION('{{PARTNER_ROLE}}') is true for every role above the partner in the hierarchy:
--   05_partner_role.sql grants it to SYSADMIN (Snowflake's advice for custom roles), so administrators
--   saw pseudonyms.
-- - CURRENT_ROLE() = '{{PARTNER_ROLE}}' looks at the primary role only, while privileges also come from
--   secondary roles: a partner user whose primary role is PUBLIC and whose secondary roles are active
--   (DEFAULT_SECONDARY_ROLES = ('ALL'), USE SECONDARY ROLES ALL) reads the views through the partner
--   role's grants with CURRENT_ROLE() = 'PUBLIC', and would see the clear id.
-- - Not granting the partner to SYSADMIN would fix administrators only until someone follows the advice
--   and grants it, and every other role with SELECT would still see the clear id.
-- The allow-list fails closed: a session sees the id only when its primary or secondary roles include
-- {{READ_ROLE}} (directly or through the hierarchy); any other role that can read the views sees the
-- pseudonym. https://docs.snowflake.com/en/user-guide/security-column-advanced (context functions and
-- role hierarchy), https://docs.snowflake.com/en/sql-reference/functions/is_role_in_session
--
-- The key lives in a table only the policy owner can read; the policy's subquery runs with the
-- owner's rights. Put the key in once (at least 32 random characters; rotate by replacing the row,
-- which changes every pseudonym), as {{DEPLOY_ROLE}}:
--   insert into {{DATABASE}}.governance.pseudonym_key (key_value) select '<random key>'
-- This is a different namespace from the HMAC pseudonyms of the S3 export (EXPORT_SALT), on
-- purpose: two channels, two partners, no linkage between them.

create schema if not exists {{DATABASE}}.governance with managed access
    comment = 'keys of the masking policies; readable by their owner only';

create table if not exists {{DATABASE}}.governance.pseudonym_key (
    key_value   varchar not null,
    created_at  timestamp_ntz not null default current_timestamp()
);

create masking policy if not exists {{DATABASE}}.analytics.customer_id_mask
    as (val varchar) returns varchar ->
    case
        when val is null then null
        when is_role_in_session('{{READ_ROLE}}') then val
        -- no key row: null (fails closed, never the clear id)
        else sha2(val || ':' || (select max(key_value) from {{DATABASE}}.governance.pseudonym_key), 256)
    end
    comment = 'customer_id in clear for the readers hierarchy, keyed SHA-256 for every other role (the partner); attached by the rebuild';

-- CREATE ... IF NOT EXISTS leaves an existing policy as it was: set the body again so a rerun converges.
-- https://docs.snowflake.com/en/sql-reference/sql/alter-masking-policy
alter masking policy {{DATABASE}}.analytics.customer_id_mask set body ->
    case
        when val is null then null
        when is_role_in_session('{{READ_ROLE}}') then val
        else sha2(val || ':' || (select max(key_value) from {{DATABASE}}.governance.pseudonym_key), 256)
    end;

-- the rebuild role attaches the policy to the tables it builds
grant apply on masking policy {{DATABASE}}.analytics.customer_id_mask to role {{TRANSFORM_ROLE}};

-- the partner reads views of analytics only (today: customer_product_purchases), never its tables.
-- Both grants are needed:
-- - on future views, for a view the rebuild creates after this script (a new view inherits the
--   schema's future grants when it is created without COPY GRANTS, which is how the rebuild creates one);
-- - on all views, for the views that already exist: a future grant never reaches an existing object, and
--   the rebuild replaces an existing view WITH COPY GRANTS, which "copies all privileges ... from the
--   existing view" and "does not inherit any future grants". Without it a view created before this
--   script (the partner added later, or a rerun) stays closed to the partner for good.
-- https://docs.snowflake.com/en/sql-reference/sql/create-view#optional-parameters,
-- https://docs.snowflake.com/en/sql-reference/sql/grant-privilege
grant usage on database {{DATABASE}} to role {{PARTNER_ROLE}};
grant usage on schema {{DATABASE}}.analytics to role {{PARTNER_ROLE}};
grant select on all views in schema {{DATABASE}}.analytics to role {{PARTNER_ROLE}};
grant select on future views in schema {{DATABASE}}.analytics to role {{PARTNER_ROLE}};
