-- Least-privilege grants on the objects of the other scripts, run by their owner ({{DEPLOY_ROLE}},
-- which owns the managed-access schemas and may therefore grant, including on future objects).
-- Warehouse and database usage are granted in 00_account.sql.
-- https://docs.snowflake.com/en/user-guide/security-access-control-privileges

-- ingest: read the landing stage, run its load, write the raw layer; nothing else
grant usage on schema {{DATABASE}}.raw to role {{LOAD_ROLE}};
grant usage on stage {{DATABASE}}.{{LANDING_STAGE}} to role {{LOAD_ROLE}};
grant usage on file format {{DATABASE}}.raw.lines_format to role {{LOAD_ROLE}};
grant usage on function {{DATABASE}}.raw.check_transaction_line(varchar) to role {{LOAD_ROLE}};
grant usage on function {{DATABASE}}.raw.parse_snapshot_csv(varchar, varchar, double) to role {{LOAD_ROLE}};
grant select, insert, update, delete on all tables in schema {{DATABASE}}.raw to role {{LOAD_ROLE}};
grant select, insert, update, delete on future tables in schema {{DATABASE}}.raw to role {{LOAD_ROLE}};
-- pipe mode: ask a pipe to load a file, and read its load history
grant operate, monitor on pipe {{DATABASE}}.raw.transactions_pipe to role {{LOAD_ROLE}};
grant operate, monitor on pipe {{DATABASE}}.raw.customers_pipe to role {{LOAD_ROLE}};
grant operate, monitor on pipe {{DATABASE}}.raw.products_pipe to role {{LOAD_ROLE}};

-- rebuild and transfer: read raw, build staging and analytics, unload to the exports stage
grant usage on schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
grant select on all tables in schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
grant select on future tables in schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
grant usage, create table, create view on schema {{DATABASE}}.staging to role {{TRANSFORM_ROLE}};
grant usage, create table, create view on schema {{DATABASE}}.analytics to role {{TRANSFORM_ROLE}};
grant usage on stage {{DATABASE}}.{{EXPORT_STAGE}} to role {{TRANSFORM_ROLE}};
grant usage on file format {{DATABASE}}.raw.export_jsonl_format to role {{TRANSFORM_ROLE}};
grant usage on file format {{DATABASE}}.raw.export_parquet_format to role {{TRANSFORM_ROLE}};

-- data scientists: analytics only
grant usage on schema {{DATABASE}}.analytics to role {{READ_ROLE}};
grant select on all tables in schema {{DATABASE}}.analytics to role {{READ_ROLE}};
grant select on all views in schema {{DATABASE}}.analytics to role {{READ_ROLE}};
grant select on future tables in schema {{DATABASE}}.analytics to role {{READ_ROLE}};
grant select on future views in schema {{DATABASE}}.analytics to role {{READ_ROLE}};
