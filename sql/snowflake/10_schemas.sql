-- Schemas of the pipeline's layers (docs/ARCHITECTURE.md §6), owned by the deploying role.
-- Managed access: only the schema owner (and MANAGE GRANTS) decides who reads what, so a role that
-- creates a table cannot hand it to someone else.
-- https://docs.snowflake.com/en/user-guide/security-access-control-configure#creating-managed-access-schemas

create schema if not exists {{DATABASE}}.raw with managed access comment = 'landed files, file ledger, quarantine';
create schema if not exists {{DATABASE}}.staging with managed access comment = 'cleaned, typed views of raw';
create schema if not exists {{DATABASE}}.analytics with managed access comment = 'models for the data scientists';
