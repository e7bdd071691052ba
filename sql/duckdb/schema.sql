-- Raw layer, ledger and quarantine for the embedded DuckDB warehouse.
-- Applied automatically on first use (idempotent). The Snowflake equivalent is sql/snowflake/.
-- Every loaded row carries the object version it came from (_file_key, _file_version), so a
-- new version of a key replaces exactly that key's rows.

create schema if not exists raw;
create schema if not exists staging;
create schema if not exists analytics;

-- grain: one row per customer in the current snapshot
create table if not exists raw.customers (
  customer_id      varchar,
  loyalty_score    integer,
  _file_key        varchar not null,
  _file_version    varchar not null,
  _line_number     integer not null,
  _loaded_at       timestamp not null
);

-- grain: one row per product in the current snapshot
create table if not exists raw.products (
  product_id          varchar,
  product_description varchar,
  product_category    varchar,
  _file_key           varchar not null,
  _file_version       varchar not null,
  _line_number        integer not null,
  _loaded_at          timestamp not null
);

-- grain: one row per transaction (one JSON line); transaction_id = '<key>:<line>'
create table if not exists raw.transactions (
  transaction_id   varchar not null,
  customer_id      varchar not null,
  purchased_at     timestamp not null,
  basket_size      integer not null,
  _file_key        varchar not null,
  _file_version    varchar not null,
  _line_number     integer not null,
  _loaded_at       timestamp not null
);

-- grain: one row per basket item; the same product twice in a basket is two rows
create table if not exists raw.transaction_items (
  transaction_id   varchar not null,
  item_index       integer not null,
  customer_id      varchar not null,
  product_id       varchar not null,
  price            decimal(18, 2) not null,
  purchased_at     timestamp not null,
  _file_key        varchar not null,
  _file_version    varchar not null
);

-- grain: one row per object version seen (bucket, key, version)
create table if not exists raw.file_ledger (
  bucket            varchar not null,
  key               varchar not null,
  version           varchar not null,
  dataset           varchar not null,
  sequencer         varchar,
  event_time        timestamp,
  size_bytes        bigint,
  status            varchar not null,   -- loaded | superseded | failed
  rows_loaded       bigint not null default 0,
  rows_quarantined  bigint not null default 0,
  first_error       varchar,
  attempts          integer not null default 1,
  loaded_at         timestamp,
  updated_at        timestamp not null,
  primary key (bucket, key, version)
);

-- grain: one row per rejected line or CSV row
create table if not exists raw.quarantine (
  bucket          varchar not null,
  key             varchar not null,
  version         varchar not null,
  dataset         varchar not null,
  line_number     integer not null,
  raw_text        varchar,
  reason          varchar not null,
  quarantined_at  timestamp not null
);

-- grain: one row per dataset; writers of a dataset update its row first (see shared/ingest/ledger.ts lockDataset)
create table if not exists raw.ingest_lock (
  dataset   varchar primary key,
  holder    varchar,
  taken_at  timestamp
);
insert or ignore into raw.ingest_lock (dataset) values ('customers'), ('products'), ('transactions');
