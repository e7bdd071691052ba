-- External stages on the two buckets, through the storage integration (no keys in SQL).
-- The landing stage points at the bucket root, so a file's path relative to the stage
-- (METADATA$FILENAME, COPY ... FILES = (...), ALTER PIPE ... REFRESH PREFIX) is its S3 key.
-- https://docs.snowflake.com/en/sql-reference/sql/create-stage

create stage if not exists {{DATABASE}}.{{LANDING_STAGE}}
  url = '{{LANDING_URL}}'
  storage_integration = {{STORAGE_INTEGRATION}}
  file_format = {{DATABASE}}.raw.lines_format
  comment = 'landing bucket (read by ingest)';
alter stage {{DATABASE}}.{{LANDING_STAGE}} set
  url = '{{LANDING_URL}}'
  storage_integration = {{STORAGE_INTEGRATION}}
  file_format = (format_name = '{{DATABASE}}.raw.lines_format');

create stage if not exists {{DATABASE}}.{{EXPORT_STAGE}}
  url = '{{EXPORT_URL}}'
  storage_integration = {{STORAGE_INTEGRATION}}
  comment = 'exports bucket (written by the unload mode of transfer)';
alter stage {{DATABASE}}.{{EXPORT_STAGE}} set
  url = '{{EXPORT_URL}}'
  storage_integration = {{STORAGE_INTEGRATION}};
