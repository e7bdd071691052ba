-- Raw layer, file ledger and quarantine: the same tables, names and columns as sql/duckdb/schema.sql,
-- so the portable SQL of the rest of the code (raw.file_ledger, unquoted, resolved upper-case here)
-- runs on both engines. Snowflake does not enforce primary or unique keys; the ledger's uniqueness
-- comes from shared/ingest/ledger.ts (delete + insert of a version's row inside one transaction).
-- https://docs.snowflake.com/en/sql-reference/constraints-overview

-- grain: one row per customer in the current snapshot
create table if not exists {{DATABASE}}.raw.customers (
  customer_id      varchar,
  loyalty_score    integer,
  _file_key        varchar not null,
  _file_version    varchar not null,
  _line_number     integer not null,
  _loaded_at       timestamp_ntz not null
);

-- grain: one row per product in the current snapshot
create table if not exists {{DATABASE}}.raw.products (
  product_id          varchar,
  product_description varchar,
  product_category    varchar,
  _file_key           varchar not null,
  _file_version       varchar not null,
  _line_number        integer not null,
  _loaded_at          timestamp_ntz not null
);

-- grain: one row per transaction (one JSON line); transaction_id = '<key>:<line>'
create table if not exists {{DATABASE}}.raw.transactions (
  transaction_id   varchar not null,
  customer_id      varchar not null,
  purchased_at     timestamp_ntz not null,
  basket_size      integer not null,
  _file_key        varchar not null,
  _file_version    varchar not null,
  _line_number     integer not null,
  _loaded_at       timestamp_ntz not null
);

-- grain: one row per basket item; the same product twice in a basket is two rows
create table if not exists {{DATABASE}}.raw.transaction_items (
  transaction_id   varchar not null,
  item_index       integer not null,
  customer_id      varchar not null,
  product_id       varchar not null,
  price            number(18, 2) not null,
  purchased_at     timestamp_ntz not null,
  _file_key        varchar not null,
  _file_version    varchar not null
);

-- grain: one row per object version seen (bucket, key, version)
create table if not exists {{DATABASE}}.raw.file_ledger (
  bucket            varchar not null,
  key               varchar not null,
  version           varchar not null,
  dataset           varchar not null,
  sequencer         varchar,
  event_time        timestamp_ntz,
  size_bytes        bigint,
  status            varchar not null,   -- loaded | replaced | superseded | failed
  rows_loaded       bigint not null default 0,
  rows_quarantined  bigint not null default 0,
  first_error       varchar,
  attempts          integer not null default 1,
  loaded_at         timestamp_ntz,
  updated_at        timestamp_ntz not null,
  primary key (bucket, key, version)  -- informational in Snowflake
);

-- grain: one row per rejected line or CSV row
create table if not exists {{DATABASE}}.raw.quarantine (
  bucket          varchar not null,
  key             varchar not null,
  version         varchar not null,
  dataset         varchar not null,
  line_number     integer not null,
  raw_text        varchar,
  reason          varchar not null,
  quarantined_at  timestamp_ntz not null
);

-- grain: one row per dataset. Writers of a dataset update its row first and hold the row lock until
-- COMMIT, so two invocations cannot both decide to load the same version (shared/ingest/ledger.ts
-- lockDataset; Snowflake locks on UPDATE and makes the second writer wait, up to LOCK_TIMEOUT).
-- https://docs.snowflake.com/en/sql-reference/transactions#resource-locking
create table if not exists {{DATABASE}}.raw.ingest_lock (
  dataset   varchar primary key,
  holder    varchar,
  taken_at  timestamp_ntz
);
merge into {{DATABASE}}.raw.ingest_lock t
using (select column1 as dataset from values ('customers'), ('products'), ('transactions')) s
   on t.dataset = s.dataset
 when not matched then insert (dataset) values (s.dataset);

-- Landing tables: what COPY (or a pipe) read from a file, one row per physical line, before the row
-- rules run. Rows stay until the file version they belong to is recorded in the ledger, because
-- COPY will not load the same file into the same table twice (load metadata, 64 days): a retried
-- batch finds the lines here. Transient: no Fail-safe copies of a working table.
-- grain: one row per physical line of a landed object version (file_key + file_last_modified)
create transient table if not exists {{DATABASE}}.raw.landing_transactions (
  file_key            varchar not null,       -- METADATA$FILENAME: the S3 key (stage = bucket root)
  line_number         integer not null,       -- METADATA$FILE_ROW_NUMBER: physical line, 1-based
  line                varchar,                -- the line's text, untouched
  file_last_modified  timestamp_ntz not null, -- METADATA$FILE_LAST_MODIFIED: tells versions of a key apart
  file_content_key    varchar,                -- METADATA$FILE_CONTENT_KEY (checksum), for diagnosis
  copied_at           timestamp_ntz not null default sysdate()
);
create transient table if not exists {{DATABASE}}.raw.landing_customers like {{DATABASE}}.raw.landing_transactions;
create transient table if not exists {{DATABASE}}.raw.landing_products like {{DATABASE}}.raw.landing_transactions;
