-- Row rules of ingest (docs/ARCHITECTURE.md §5) for the Snowflake path, as JavaScript UDFs.
--
-- Why JavaScript: the rules are defined by shared/ingest/parse.ts, which the DuckDB path runs in Node.
-- Snowflake's JavaScript UDFs run the same language with the same JSON.parse, String.trim and regular
-- expressions, so "is this valid JSON", "is this whitespace" and "is this a calendar date" mean exactly
-- the same thing on both engines (PARSE_JSON, TRIM and TRY_TO_TIMESTAMP each differ from Node in small
-- ways: duplicate keys, Unicode whitespace, leap seconds). test/unit/snowflake-udfs.test.ts runs these
-- bodies in Node against parse.ts on the same inputs; keep the two in step.
-- https://docs.snowflake.com/en/developer-guide/udf/javascript/udf-javascript-introduction
--
-- Functions are stateless, so CREATE OR REPLACE (with COPY GRANTS) is the idempotent way to deploy a
-- changed body. COPY GRANTS goes right after the argument list, before RETURNS, as the syntax block of
-- https://docs.snowflake.com/en/sql-reference/sql/create-function#javascript-handler orders the clauses.

-- One line of a transactions file (JSON Lines) -> null for a blank line (skipped), else
--   { ok: true,  customer_id, purchased_at: 'YYYY-MM-DD HH:MM:SS[.ffffff]', basket: [{ product_id, price }] }
--   { ok: false, reason, raw }  where raw is the line without its trailing CR
create or replace function {{DATABASE}}.raw.check_transaction_line(line varchar)
  copy grants
  returns variant
  language javascript
  immutable
  comment = 'ingest row rules for a transactions line; mirrors shared/ingest/parse.ts validateTransactionLine'
as
$$
var MAX_ABS_PRICE = 1e16;
var TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?$/;
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function parseTimestamp(value) {
  if (typeof value !== 'string') return null;
  var m = TIMESTAMP.exec(value);
  if (!m) return null;
  var y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]), h = Number(m[4]), mi = Number(m[5]), s = Number(m[6]);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  var date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCDate() !== d || date.getUTCMonth() !== mo - 1) return null;
  var fraction = m[7] ? m[7].slice(0, 7) : '';
  return m[1] + '-' + m[2] + '-' + m[3] + ' ' + m[4] + ':' + m[5] + ':' + m[6] + fraction;
}
var raw = LINE === null || LINE === undefined ? '' : String(LINE);
if (raw.charAt(raw.length - 1) === '\r') raw = raw.slice(0, -1);
if (raw.trim() === '') return null;
function bad(reason) {
  return { ok: false, reason: reason, raw: raw };
}
var value;
try {
  value = JSON.parse(raw);
} catch (e) {
  return bad('invalid JSON');
}
if (!isObject(value)) return bad('invalid JSON');
var customerId = value.customer_id;
if (typeof customerId !== 'string' || customerId.trim() === '') return bad('missing customer_id');
if (!Array.isArray(value.basket)) return bad('missing basket');
var purchasedAt = parseTimestamp(value.date_of_purchase);
if (purchasedAt === null) return bad('invalid date_of_purchase');
var basket = [];
for (var i = 0; i < value.basket.length; i++) {
  var item = value.basket[i];
  var n = i + 1;
  if (!isObject(item) || typeof item.product_id !== 'string' || item.product_id.trim() === '')
    return bad('basket item ' + n + ' without product_id');
  if (typeof item.price !== 'number' || !isFinite(item.price)) return bad('basket item ' + n + ' has non-numeric price');
  if (Math.abs(item.price) >= MAX_ABS_PRICE) return bad('basket item ' + n + ' price out of range');
  basket.push({ product_id: item.product_id, price: item.price });
}
return { ok: true, customer_id: customerId, purchased_at: purchasedAt, basket: basket };
$$;

-- The lines of one customers.csv or products.csv, in order (PARTITION BY file, ORDER BY line number)
-- -> one row per CSV record:
--   status 'header'      the header line, as expected
--   status 'ok'          a good row; fields = the values to load (customers: [id, score], products:
--                        [id, description, category], ids and categories trimmed)
--   status 'quarantined' reason 'expected N columns, found M' | 'loyalty_score is not an integer'
--   status 'unreadable'  the file cannot be read as this dataset (wrong header, unclosed quote): the
--                        whole file fails, nothing of it loads
-- line_number is the physical line where the record ends (quoted fields may span lines) and raw_text the
-- record's text, as csv-parse reports them to parse.ts (options: bom, relax_column_count, relax_quotes,
-- skip_empty_lines; CRLF read as LF).
create or replace function {{DATABASE}}.raw.parse_snapshot_csv(dataset varchar, line varchar, line_number double)
  copy grants
  returns table (line_number double, status varchar, reason varchar, raw_text varchar, fields array)
  language javascript
  comment = 'ingest row rules for customers.csv / products.csv; mirrors shared/ingest/parse.ts readCsv'
as
$$
{
  initialize: function (argumentInfo, context) {
    this.lines = [];
    this.dataset = null;
  },
  processRow: function (row, rowWriter, context) {
    this.dataset = row.DATASET;
    var text = row.LINE === null || row.LINE === undefined ? '' : String(row.LINE);
    if (text.charAt(text.length - 1) === '\r') text = text.slice(0, -1);
    if (row.LINE_NUMBER === 1 && text.charAt(0) === '\uFEFF') text = text.slice(1);
    this.lines.push({ n: row.LINE_NUMBER, text: text });
  },
  finalize: function (rowWriter, context) {
    var HEADERS = {
      customers: ['customer_id', 'loyalty_score'],
      products: ['product_id', 'product_description', 'product_category']
    };
    if (this.lines.length === 0) return; // an empty file has no lines: valid, loads nothing
    var expected = HEADERS[this.dataset];
    if (!expected) {
      rowWriter.writeRow({ LINE_NUMBER: 0, STATUS: 'unreadable', REASON: 'unknown dataset ' + this.dataset, RAW_TEXT: null, FIELDS: null });
      return;
    }
    this.lines.sort(function (a, b) { return a.n - b.n; });
    // the file's text with LF line ends; physical line k starts at offsets[k - 1]
    var text = '';
    var startLine = this.lines.length ? this.lines[0].n : 1;
    for (var i = 0; i < this.lines.length; i++) text += (i ? '\n' : '') + this.lines[i].text;

    // csv-parse semantics: '"' quotes a field only at its start; '""' inside quotes is a quote; a closing
    // quote followed by anything but ',' or a line end makes the whole field literal text (relax_quotes);
    // an empty line is no record (skip_empty_lines); rows may have any number of fields.
    var records = [];
    var fields = [];
    var field = '';
    var quoted = false;
    var literal = false;
    var wasQuoted = false;
    var line = startLine;
    var recordStart = 0;
    var pos = 0;
    var len = text.length;
    function endRecord(end) {
      fields.push(field);
      var empty = fields.length === 1 && fields[0] === '' && !wasQuoted;
      if (!empty) records.push({ fields: fields, raw: text.slice(recordStart, end), line: line });
      fields = [];
      field = '';
      wasQuoted = false;
      literal = false;
    }
    while (pos < len) {
      var c = text.charAt(pos);
      if (quoted) {
        if (c === '"') {
          var next = text.charAt(pos + 1);
          if (next === '"') {
            field += '"';
            pos += 2;
            continue;
          }
          quoted = false;
          if (pos + 1 < len && next !== ',' && next !== '\n') {
            field = '"' + field + '"';
            literal = true;
          }
          pos++;
          continue;
        }
        if (c === '\n') line++;
        field += c;
        pos++;
        continue;
      }
      if (c === ',') {
        fields.push(field);
        field = '';
        literal = false;
        pos++;
        continue;
      }
      if (c === '\n') {
        endRecord(pos);
        line++;
        pos++;
        recordStart = pos;
        continue;
      }
      if (c === '"' && field === '' && !literal) {
        quoted = true;
        wasQuoted = true;
        pos++;
        continue;
      }
      field += c;
      pos++;
    }
    if (quoted) {
      rowWriter.writeRow({ LINE_NUMBER: line, STATUS: 'unreadable', REASON: 'malformed CSV (quote not closed)', RAW_TEXT: null, FIELDS: null });
      return;
    }
    if (pos > recordStart || fields.length > 0 || wasQuoted) endRecord(len);

    if (records.length === 0) return; // empty file: valid, loads nothing
    var header = records[0];
    var names = header.fields.map(function (h) { return h.trim().toLowerCase(); });
    var same = names.length === expected.length && names.every(function (n, k) { return n === expected[k]; });
    if (!same) {
      rowWriter.writeRow({
        LINE_NUMBER: header.line,
        STATUS: 'unreadable',
        REASON: 'unexpected header ' + JSON.stringify(header.fields.join(',')) + ', expected ' + JSON.stringify(expected.join(',')),
        RAW_TEXT: header.raw,
        FIELDS: null
      });
      return;
    }
    rowWriter.writeRow({ LINE_NUMBER: header.line, STATUS: 'header', REASON: null, RAW_TEXT: header.raw, FIELDS: header.fields });
    for (var r = 1; r < records.length; r++) {
      var rec = records[r];
      if (rec.fields.length !== expected.length) {
        rowWriter.writeRow({
          LINE_NUMBER: rec.line,
          STATUS: 'quarantined',
          REASON: 'expected ' + expected.length + ' columns, found ' + rec.fields.length,
          RAW_TEXT: rec.raw,
          FIELDS: null
        });
        continue;
      }
      if (this.dataset === 'customers') {
        if (!/^\s*[+-]?\d{1,9}\s*$/.test(rec.fields[1])) {
          rowWriter.writeRow({ LINE_NUMBER: rec.line, STATUS: 'quarantined', REASON: 'loyalty_score is not an integer', RAW_TEXT: rec.raw, FIELDS: null });
          continue;
        }
        rowWriter.writeRow({ LINE_NUMBER: rec.line, STATUS: 'ok', REASON: null, RAW_TEXT: rec.raw, FIELDS: [rec.fields[0].trim(), Number(rec.fields[1])] });
      } else {
        rowWriter.writeRow({
          LINE_NUMBER: rec.line,
          STATUS: 'ok',
          REASON: null,
          RAW_TEXT: rec.raw,
          FIELDS: [rec.fields[0].trim(), rec.fields[1], rec.fields[2].trim()]
        });
      }
    }
  }
}
$$;
