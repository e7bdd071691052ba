-- Least-privilege grants on the objects of the other scripts, run by their owner ({{DEPLOY_ROLE}},
-- which owns the managed-access schemas and may therefore grant, including on future objects).
-- Warehouse and database usage are granted in 00_account.sql.
-- https://docs.snowflake.com/en/user-guide/security-access-control-privileges

-- ingest: read the landing stage, land lines, append to the raw layer. Append only: the hot path never
-- updates or deletes (shared/ingest/schema.ts), so the load role has no UPDATE or DELETE. The rules
-- functions and the pipes are granted with them (85_dataset_grants.sql, generated).
grant usage on schema {{DATABASE}}.raw to role {{LOAD_ROLE}};
grant usage on stage {{DATABASE}}.{{LANDING_STAGE}} to role {{LOAD_ROLE}};
grant usage on file format {{DATABASE}}.raw.lines_format to role {{LOAD_ROLE}};
grant select, insert on all tables in schema {{DATABASE}}.raw to role {{LOAD_ROLE}};
grant select, insert on future tables in schema {{DATABASE}}.raw to role {{LOAD_ROLE}};
grant select on all views in schema {{DATABASE}}.raw to role {{LOAD_ROLE}};
grant select on future views in schema {{DATABASE}}.raw to role {{LOAD_ROLE}};

-- rebuild and transfer: read raw, build staging and analytics, unload to the exports stage
grant usage on schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
grant select on all tables in schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
grant select on future tables in schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
grant select on all views in schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
grant select on future views in schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
-- the rebuild fixes its cut of the raw data, and compacts what no view shows any more
-- (shared/ingest/compact.ts): off the hot path, so its deletes never queue a load
grant insert, delete on all tables in schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
grant insert, delete on future tables in schema {{DATABASE}}.raw to role {{TRANSFORM_ROLE}};
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
