-- Partner access to the purchase data with customer_id pseudonymised.
--
-- A masking policy on customer_id: a session with the partner role sees a keyed SHA-256 of the id
-- (stable, so partners can still count and join per customer, but cannot recover the id by hashing
-- C1..Cn themselves); every other role sees the id. The rebuild attaches the policy to the
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
-- {{PARTNER_ROLE}} (the external partner's role).
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
        when is_role_in_session('{{PARTNER_ROLE}}') then
            -- no key row: null for the partner (fails closed, never the clear id)
            sha2(val || ':' || (select max(key_value) from {{DATABASE}}.governance.pseudonym_key), 256)
        else val
    end
    comment = 'customer_id pseudonymised (keyed SHA-256) for the partner role; attached by the rebuild';

-- the rebuild role attaches the policy to the tables it builds
grant apply on masking policy {{DATABASE}}.analytics.customer_id_mask to role {{TRANSFORM_ROLE}};

-- the partner reads views of analytics only (today: customer_product_purchases), never its tables.
-- A future grant, because setup runs before the first rebuild creates the view; later rebuilds
-- replace the view WITH COPY GRANTS, so the grant survives them.
grant usage on database {{DATABASE}} to role {{PARTNER_ROLE}};
grant usage on schema {{DATABASE}}.analytics to role {{PARTNER_ROLE}};
grant select on future views in schema {{DATABASE}}.analytics to role {{PARTNER_ROLE}};
