-- Schemas of the embedded DuckDB warehouse, applied whenever the file is opened (idempotent).
-- The ingest layer (ledger events, appended raw tables and the views over them) is rendered from the
-- dataset declarations by shared/ingest/schema.ts, for DuckDB here and for Snowflake by migrate.

create schema if not exists raw;
create schema if not exists staging;
create schema if not exists analytics;
