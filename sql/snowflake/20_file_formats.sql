-- File formats.
--
-- lines_format reads every physical line of a file as ONE text column, whatever the dataset: no
-- field splitting, no quoting, no escapes, no NULL markers, blank lines kept, so METADATA$FILE_ROW_NUMBER
-- is the physical line number. The row rules (JSON, CSV quoting, column counts, types) then run in the
-- datasets' table functions (50_rules.sql, generated): the same rules, shared/ingest/rules/judge.ts, that
-- Node applies on DuckDB.
-- Nothing in a line can be rejected by this format except bytes that are not UTF-8; such a file is
-- "not text" and fails as a whole, as it does on DuckDB. Compression is detected (gzip).
-- https://docs.snowflake.com/en/sql-reference/sql/create-file-format#type-csv
--
-- CREATE ... IF NOT EXISTS, then ALTER ... SET: a rerun converges an existing format to these options
-- without dropping it (stages and pipes refer to it).

create file format if not exists {{DATABASE}}.raw.lines_format type = csv;
alter file format {{DATABASE}}.raw.lines_format set
  compression = auto
  record_delimiter = '\n'
  field_delimiter = none
  skip_header = 0
  skip_blank_lines = false
  field_optionally_enclosed_by = none
  escape = none
  escape_unenclosed_field = none
  trim_space = false
  null_if = ()
  empty_field_as_null = false
  encoding = 'UTF8'
  replace_invalid_characters = false
  skip_byte_order_mark = true
  comment = 'one text column per physical line; rules applied after loading (shared/ingest/landing/stage-sql.ts)';

-- exports written by the transfer/rebuild unload mode
create file format if not exists {{DATABASE}}.raw.export_jsonl_format type = json;
alter file format {{DATABASE}}.raw.export_jsonl_format set compression = gzip comment = 'JSON Lines, gzip';
create file format if not exists {{DATABASE}}.raw.export_parquet_format type = parquet;
alter file format {{DATABASE}}.raw.export_parquet_format set compression = snappy comment = 'Parquet, snappy';
