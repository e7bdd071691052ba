-- Pipes for INGEST_MODE=pipe: the same load as the COPY of shared/ingest/snowflake-sql.ts, run by
-- Snowpipe. AUTO_INGEST is off: the ingest Lambda already receives the S3 events and asks the pipe for
-- exactly the object of each event with ALTER PIPE ... REFRESH PREFIX = '<key>' (files staged in the
-- last 7 days only; older files go through COPY). The PATTERN keeps each pipe to its dataset's keys.
--
-- Never CREATE OR REPLACE a pipe: a new pipe forgets the pipe's load history (14 days) and would load
-- files again. To change a pipe's COPY, pause it, drop it, create it, and refresh only new files.
-- https://docs.snowflake.com/en/user-guide/data-load-snowpipe-manage#recreating-pipes
-- https://docs.snowflake.com/en/sql-reference/sql/alter-pipe

create pipe if not exists {{DATABASE}}.raw.transactions_pipe
  auto_ingest = false
  comment = 'transactions/d=YYYY-MM-DD/*.json[l][.gz] -> raw.landing_transactions'
as
copy into {{DATABASE}}.raw.landing_transactions (file_key, line_number, line, file_last_modified, file_content_key)
from (
  select metadata$filename, metadata$file_row_number, $1, metadata$file_last_modified, metadata$file_content_key
  from @{{DATABASE}}.{{LANDING_STAGE}}
)
pattern = '(.*/)?transactions/d=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.](json|jsonl)([.]gz)?'
file_format = (format_name = '{{DATABASE}}.raw.lines_format')
on_error = continue;

create pipe if not exists {{DATABASE}}.raw.customers_pipe
  auto_ingest = false
  comment = 'customers.csv[.gz] -> raw.landing_customers'
as
copy into {{DATABASE}}.raw.landing_customers (file_key, line_number, line, file_last_modified, file_content_key)
from (
  select metadata$filename, metadata$file_row_number, $1, metadata$file_last_modified, metadata$file_content_key
  from @{{DATABASE}}.{{LANDING_STAGE}}
)
pattern = '(.*/)?customers[.]csv([.]gz)?'
file_format = (format_name = '{{DATABASE}}.raw.lines_format')
on_error = continue;

create pipe if not exists {{DATABASE}}.raw.products_pipe
  auto_ingest = false
  comment = 'products.csv[.gz] -> raw.landing_products'
as
copy into {{DATABASE}}.raw.landing_products (file_key, line_number, line, file_last_modified, file_content_key)
from (
  select metadata$filename, metadata$file_row_number, $1, metadata$file_last_modified, metadata$file_content_key
  from @{{DATABASE}}.{{LANDING_STAGE}}
)
pattern = '(.*/)?products[.]csv([.]gz)?'
file_format = (format_name = '{{DATABASE}}.raw.lines_format')
on_error = continue;
