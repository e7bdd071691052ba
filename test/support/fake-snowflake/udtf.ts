/**
 * Runs the body of a JavaScript table function (UDTF) the way Snowflake documents it, so a test can run
 * the real body of a function in sql/snowflake/ over rows and see what a query would return:
 *
 *   const result = runJavascriptUdtf(body, {
 *     args: [{ name: 'dataset', type: 'VARCHAR' }, { name: 'line', type: 'VARCHAR' }, { name: 'line_number', type: 'DOUBLE' }],
 *     returns: [{ name: 'line_number', type: 'DOUBLE' }, { name: 'status', type: 'VARCHAR' }, ...],
 *     input: landingRows,                                 // the relation joined to TABLE(...)
 *     call: (r) => ['customers', r.LINE, r.LINE_NUMBER],  // the argument expressions, per input row
 *     partitionBy: ['FILE_KEY'],                          // OVER (PARTITION BY ...); omit: no OVER clause
 *     orderBy: (a, b) => a.LINE_NUMBER - b.LINE_NUMBER,   // OVER (... ORDER BY ...)
 *   });
 *   result.rows  // [{ from: 'processRow' | 'finalize', input: {...}, output: {...} }], in output order
 *
 * The rules, each from https://docs.snowflake.com/en/developer-guide/udf/javascript/udf-javascript-tabular-functions
 * unless another page is named:
 * - "The code must define a single literal JavaScript object." ... "The defined object must include a
 *   callback function named processRow()." ... "If the JavaScript code does not meet these requirements,
 *   the UDTF will still be created; however, it will fail when called in a query."
 * - processRow: "For each of the arguments defined in the CREATE FUNCTION statement used to create the
 *   UDTF, there is a property on the row object with the same name in all uppercase." "(The value is
 *   converted to a JavaScript value.)"
 * - writeRow: "For each column defined in the RETURNS clause ..., a corresponding property can be defined
 *   on the row object. ... Any output columns without a corresponding property on the row object will
 *   have the value NULL in the result table." (Columns are matched by their upper-case names, as the
 *   page's examples write them; the page is silent on other properties, which are ignored.)
 * - finalize: "invoked once for each partition, after all rows in that partition have been passed to
 *   processRow()".
 * - initialize: "invoked once for each partition prior to any invocations of processRow()"; its
 *   argumentInfo "has a property for each of those arguments" with `type`, `isConst`, `constValue`
 *   (upper-case names, as in `row`: the page does not say); "The initialize() function cannot produce
 *   output rows."
 * - "All three callback functions take a context object; this is reserved for future use and currently
 *   is empty." (frozen here: "Modifying the context object can yield undefined behavior")
 * - "a single UDTF instance can process multiple partitions": one object serves every partition here, so
 *   state carried over from one partition to the next shows.
 * - Result columns: "For rows produced in processRow, all input columns can be joined to the output
 *   relation." "For rows produced in the finalize callback, only the columns used in the PARTITION BY
 *   clause are available (as these are the same for any row in the current partition); all other
 *   attributes are NULL. If no PARTITION BY clause is specified, all those attributes are NULL."
 * - Without PARTITION BY "the user code can make no assumptions about partitions": `implicit: 'single'`
 *   (the default, as the page's small example) or `'per-row'` to make that assumption fail.
 * - With ORDER BY "the rows are passed to processRow() in the order defined by the ORDER BY expression".
 * - Argument and result types (https://docs.snowflake.com/en/developer-guide/udf/javascript/udf-javascript-introduction):
 *   "SQL NULL arguments to a JavaScript UDF will translate to the JavaScript undefined value"; numbers are
 *   doubles and "JavaScript UDFs do not accept or return integer values except through type conversion"
 *   (an INTEGER/NUMBER argument is refused here); strings as-is; binary as Uint8Array; dates and
 *   timestamps as Date; VARIANT/OBJECT/ARRAY as JavaScript values, a JSON null as null. A returned
 *   undefined (and, for non-variant types, null) is SQL NULL; "the value is first converted to the
 *   requested return type"; "An undefined value embedded in a JavaScript object (as the value) or array
 *   will cause the element to be omitted."
 */

export interface UdtfColumn {
  name: string;
  /** SQL type as declared: VARCHAR, DOUBLE, FLOAT, BOOLEAN, DATE, TIMESTAMP_NTZ, VARIANT, OBJECT, ARRAY, BINARY. */
  type: string;
}

export interface UdtfArgument extends UdtfColumn {
  /** The argument is a constant of the call (argumentInfo.isConst / constValue); default: computed per row. */
  constValue?: unknown;
}

export type InputRow = Record<string, unknown>;

export interface UdtfCall {
  args: UdtfArgument[];
  returns: UdtfColumn[];
  /** Rows of the relation the function is called on (column name -> value); [] for TABLE(f(literals)). */
  input?: InputRow[];
  /** The call's argument values for an input row (in `args` order). */
  call: (row: InputRow) => unknown[];
  /** OVER (PARTITION BY <columns>); [] is OVER (); undefined is no OVER clause. */
  partitionBy?: string[];
  /** OVER (... ORDER BY ...) */
  orderBy?: (a: InputRow, b: InputRow) => number;
  /** Without an OVER clause Snowflake partitions as it likes: one partition, or one per row. */
  implicit?: 'single' | 'per-row';
}

export interface UdtfRow {
  from: 'processRow' | 'finalize';
  /** The input columns joined to this output row (NULL where the documentation says so). */
  input: InputRow;
  output: Record<string, unknown>;
}

/** A JSON null inside a VARIANT result, as opposed to SQL NULL (null). */
export const VARIANT_NULL = Symbol('variant null');

export class UdtfError extends Error {}

const INTEGER_TYPES = /^(NUMBER|NUMERIC|DECIMAL|INT|INTEGER|BIGINT|SMALLINT|TINYINT|BYTEINT)\b/i;

export function runJavascriptUdtf(body: string, call: UdtfCall): { rows: UdtfRow[] } {
  for (const a of call.args) {
    if (INTEGER_TYPES.test(a.type)) {
      throw new UdtfError(`argument ${a.name} ${a.type}: JavaScript UDFs do not accept integer values (declare it FLOAT or DOUBLE)`);
    }
  }
  let handler: Record<string, unknown>;
  try {
    handler = new Function(`return (${body}\n);`)() as Record<string, unknown>;
  } catch (err) {
    throw new UdtfError(`JavaScript compilation error: the body must be a single literal JavaScript object (${(err as Error).message})`);
  }
  if (typeof handler !== 'object' || handler === null || typeof handler.processRow !== 'function') {
    throw new UdtfError('the body must define a literal JavaScript object with a processRow() callback');
  }
  const context = Object.freeze({});
  const argumentInfo = Object.fromEntries(
    call.args.map((a) => [
      a.name.toUpperCase(),
      { type: a.type.toUpperCase(), isConst: 'constValue' in a, constValue: 'constValue' in a ? toJs(a.constValue, a.type) : undefined },
    ]),
  );
  const rows: UdtfRow[] = [];
  for (const partition of partitionsOf(call)) {
    if (typeof handler.initialize === 'function') invoke(() => (handler.initialize as Function).call(handler, argumentInfo, context)); // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    for (const inputRow of partition.rows) {
      const values = call.call(inputRow);
      const row = Object.fromEntries(call.args.map((a, i) => [a.name.toUpperCase(), toJs(values[i], a.type)]));
      const writer = rowWriter(call.returns, (output) => rows.push({ from: 'processRow', input: { ...inputRow }, output }));
      invoke(() => (handler.processRow as Function).call(handler, row, writer, context)); // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    }
    if (typeof handler.finalize === 'function') {
      const writer = rowWriter(call.returns, (output) => rows.push({ from: 'finalize', input: partition.finalizeInput, output }));
      invoke(() => (handler.finalize as Function).call(handler, writer, context)); // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    }
  }
  return { rows };
}

function invoke(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    // "Any errors encountered while executing JavaScript appear to the user as SQL errors."
    throw new UdtfError(`JavaScript execution error: ${(err as Error)?.message ?? String(err)}`);
  }
}

interface Partition {
  rows: InputRow[];
  /** What a finalize() row carries of the input: the PARTITION BY columns, all else NULL. */
  finalizeInput: InputRow;
}

function partitionsOf(call: UdtfCall): Partition[] {
  const input = call.input ?? [{}];
  const columns = [...new Set(input.flatMap((r) => Object.keys(r)))];
  const nulls = (keep: InputRow = {}) => Object.fromEntries(columns.map((c) => [c, c in keep ? keep[c] : null]));
  const order = (rows: InputRow[]) => (call.orderBy ? [...rows].sort(call.orderBy) : rows);
  if (call.partitionBy === undefined) {
    const groups = call.implicit === 'per-row' ? input.map((r) => [r]) : [input];
    return groups.map((rows) => ({ rows: order(rows), finalizeInput: nulls() }));
  }
  const by = call.partitionBy;
  const groups = new Map<string, InputRow[]>();
  for (const r of input) {
    const key = JSON.stringify(by.map((c) => r[c] ?? null));
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rows) => ({
    rows: order(rows),
    finalizeInput: nulls(Object.fromEntries(by.map((c) => [c, (rows[0] as InputRow)[c] ?? null]))),
  }));
}

function rowWriter(returns: UdtfColumn[], emit: (output: Record<string, unknown>) => void) {
  return Object.freeze({
    writeRow(obj: Record<string, unknown>) {
      if (typeof obj !== 'object' || obj === null) throw new Error('writeRow() takes one row object');
      emit(Object.fromEntries(returns.map((c) => [c.name.toUpperCase(), toSql(obj[c.name.toUpperCase()], c.type)])));
    },
  });
}

/** A SQL value (null for SQL NULL) as the handler sees it. */
function toJs(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return undefined;
  const t = type.toUpperCase();
  if (/^(FLOAT|DOUBLE|REAL)/.test(t)) return Number(value);
  if (/^(VARCHAR|STRING|TEXT|CHAR)/.test(t)) return String(value);
  if (/^BOOLEAN/.test(t)) return Boolean(value);
  if (/^(DATE|TIMESTAMP|DATETIME)/.test(t)) return value instanceof Date ? value : new Date(String(value));
  if (/^BINARY/.test(t)) return value instanceof Uint8Array ? value : Uint8Array.from(value as ArrayLike<number>);
  if (/^(VARIANT|OBJECT|ARRAY)/.test(t)) return value === VARIANT_NULL ? null : structuredClone(value);
  throw new UdtfError(`argument type ${type}: not a type this harness knows`);
}

/** A returned value as the result column holds it (null for SQL NULL). */
function toSql(value: unknown, type: string): unknown {
  const t = type.toUpperCase();
  const variant = /^(VARIANT|OBJECT|ARRAY)/.test(t);
  if (value === undefined) return null;
  if (value === null) return variant ? VARIANT_NULL : null;
  if (variant) return omitUndefined(value);
  if (/^(FLOAT|DOUBLE|REAL)/.test(t)) return Number(value);
  if (/^(VARCHAR|STRING|TEXT|CHAR)/.test(t)) return String(value);
  if (/^BOOLEAN/.test(t)) return Boolean(value);
  if (/^(DATE|TIMESTAMP|DATETIME)/.test(t)) return value instanceof Date ? value : new Date(String(value));
  if (/^BINARY/.test(t)) return value;
  throw new UdtfError(`result type ${type}: not a type this harness knows`);
}

function omitUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(omitUndefined);
  if (value && typeof value === 'object' && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, omitUndefined(v)]));
  }
  return value;
}
