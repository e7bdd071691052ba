/**
 * The JavaScript UDTF harness (test/support/fake-snowflake/udtf.ts) against the examples of Snowflake's
 * own page, with the outputs the page prints:
 * https://docs.snowflake.com/en/developer-guide/udf/javascript/udf-javascript-tabular-functions
 */
import { runJavascriptUdtf, UdtfError, VARIANT_NULL, type InputRow } from '../support/fake-snowflake/udtf';

const HELLO_WORLD0 = `{
        processRow: function f(row, rowWriter, context){
           rowWriter.writeRow({OUTPUT_COL: "Hello"});
           rowWriter.writeRow({OUTPUT_COL: "World"});
           }
        }`;

const HELLO_HUMAN = `{
        processRow: function get_params(row, rowWriter, context){
           rowWriter.writeRow({V: "Hello"});
           rowWriter.writeRow({V: row.FIRST_NAME});  // Note the capitalization and the use of "row."!
           rowWriter.writeRow({V: row.LAST_NAME});   // Note the capitalization and the use of "row."!
           }
        }`;

const CHAR_SUM = `{
    processRow: function (row, rowWriter, context) {
      this.ccount = this.ccount + 1;
      this.csum = this.csum + row.INS.length;
      rowWriter.writeRow({NUM: row.INS.length});
    },
    finalize: function (rowWriter, context) {
     rowWriter.writeRow({NUM: this.csum});
    },
    initialize: function(argumentInfo, context) {
     this.ccount = 0;
     this.csum = 0;
    }}`;

const RANGE_TO_VALUES = `
      {
        processRow: function f(row, rowWriter, context)  {
          var suffix = row.RANGE_START;
          while (suffix <= row.RANGE_END)  {
            rowWriter.writeRow( {IP_ADDRESS: row.PREFIX + "." + suffix} );
            suffix = suffix + 1;
            }
          }
      }
      `;

// CREATE TABLE parts (p FLOAT, s STRING); INSERT INTO parts VALUES (1, 'michael'), (1, 'kelly'), (1, 'brian'),
// (2, 'clara'), (2, 'maggie'), (2, 'reagan');
const PARTS: InputRow[] = [
  { P: 1, S: 'michael' },
  { P: 1, S: 'kelly' },
  { P: 1, S: 'brian' },
  { P: 2, S: 'clara' },
  { P: 2, S: 'maggie' },
  { P: 2, S: 'reagan' },
];

/** SELECT * FROM parts, TABLE(char_sum(s) ...): the input columns, then NUM. */
const selectStar = (rows: { input: InputRow; output: Record<string, unknown> }[]) => rows.map((r) => [r.input.P, r.input.S, r.output.NUM]);

describe('the page examples', () => {
  it('HelloWorld0: SELECT output_col FROM TABLE(HelloWorld0())', () => {
    const { rows } = runJavascriptUdtf(HELLO_WORLD0, { args: [], returns: [{ name: 'OUTPUT_COL', type: 'VARCHAR' }], call: () => [] });
    expect(rows.map((r) => r.output.OUTPUT_COL)).toEqual(['Hello', 'World']);
  });

  it("HelloHuman: arguments reach the row object upper-cased (declared First_Name, Last_Name)", () => {
    const { rows } = runJavascriptUdtf(HELLO_HUMAN, {
      args: [
        { name: 'First_Name', type: 'VARCHAR' },
        { name: 'Last_Name', type: 'VARCHAR' },
      ],
      returns: [{ name: 'V', type: 'VARCHAR' }],
      call: () => ['James', 'Kirk'],
    });
    expect(rows.map((r) => r.output.V)).toEqual(['Hello', 'James', 'Kirk']);
  });

  it('CHAR_SUM without partitioning: the finalize row has NULL in every input column', () => {
    const { rows } = runJavascriptUdtf(CHAR_SUM, { args: [{ name: 'INS', type: 'STRING' }], returns: [{ name: 'NUM', type: 'FLOAT' }], input: PARTS, call: (r) => [r.S] });
    expect(selectStar(rows)).toEqual([
      [1, 'michael', 7],
      [1, 'kelly', 5],
      [1, 'brian', 5],
      [2, 'clara', 5],
      [2, 'maggie', 6],
      [2, 'reagan', 6],
      [null, null, 34],
    ]);
  });

  it('CHAR_SUM OVER (PARTITION BY p): each finalize row keeps p, and S is NULL', () => {
    const { rows } = runJavascriptUdtf(CHAR_SUM, {
      args: [{ name: 'INS', type: 'STRING' }],
      returns: [{ name: 'NUM', type: 'FLOAT' }],
      input: PARTS,
      call: (r) => [r.S],
      partitionBy: ['P'],
    });
    expect(selectStar(rows)).toEqual([
      [1, 'michael', 7],
      [1, 'kelly', 5],
      [1, 'brian', 5],
      [1, null, 17],
      [2, 'clara', 5],
      [2, 'maggie', 6],
      [2, 'reagan', 6],
      [2, null, 17],
    ]);
    expect(rows.filter((r) => r.from === 'finalize')).toHaveLength(2);
  });

  it('range_to_values over a table: processRow rows are joined to their input row', () => {
    // SELECT rtv.ip_address FROM ip_address_ranges AS r, TABLE(range_to_values(r.prefix, r.range_start::FLOAT, r.range_end::FLOAT)) AS rtv
    const ranges: InputRow[] = [
      { PREFIX: '192.168.1', RANGE_START: 42, RANGE_END: 44 },
      { PREFIX: '192.168.2', RANGE_START: 10, RANGE_END: 12 },
      { PREFIX: '192.168.2', RANGE_START: 40, RANGE_END: 40 },
    ];
    const { rows } = runJavascriptUdtf(RANGE_TO_VALUES, {
      args: [
        { name: 'PREFIX', type: 'VARCHAR' },
        { name: 'RANGE_START', type: 'FLOAT' },
        { name: 'RANGE_END', type: 'FLOAT' },
      ],
      returns: [{ name: 'IP_ADDRESS', type: 'VARCHAR' }],
      input: ranges,
      call: (r) => [r.PREFIX, r.RANGE_START, r.RANGE_END],
    });
    expect(rows.map((r) => r.output.IP_ADDRESS)).toEqual([
      '192.168.1.42',
      '192.168.1.43',
      '192.168.1.44',
      '192.168.2.10',
      '192.168.2.11',
      '192.168.2.12',
      '192.168.2.40',
    ]);
    expect(rows[3]?.input).toEqual({ PREFIX: '192.168.2', RANGE_START: 10, RANGE_END: 12 });
  });
});

describe('the rules the examples do not show', () => {
  const ECHO_STATE = `{
    initialize: function (argumentInfo, context) { this.info = argumentInfo; this.seen = []; },
    processRow: function (row, rowWriter, context) { this.seen.push(row.X); rowWriter.writeRow({ N: this.seen.length, IS_UNDEFINED: row.X === undefined }); },
    finalize: function (rowWriter, context) { rowWriter.writeRow({ N: this.seen.length, ARGS: this.info }); }
  }`;
  const call = {
    args: [
      { name: 'x', type: 'VARCHAR' },
      { name: 'k', type: 'VARCHAR', constValue: 'customers' },
    ],
    returns: [
      { name: 'N', type: 'DOUBLE' },
      { name: 'IS_UNDEFINED', type: 'BOOLEAN' },
      { name: 'ARGS', type: 'VARIANT' },
    ],
    input: [
      { K: 'a', X: '1' },
      { K: 'a', X: null },
      { K: 'b', X: '3' },
    ],
    call: (r: InputRow) => [r.X, 'customers'],
  };

  it('calls initialize once per partition on one shared instance, with argumentInfo', () => {
    const { rows } = runJavascriptUdtf(ECHO_STATE, { ...call, partitionBy: ['K'] });
    expect(rows.map((r) => [r.from, r.input.K, r.output.N])).toEqual([
      ['processRow', 'a', 1],
      ['processRow', 'a', 2],
      ['finalize', 'a', 2],
      ['processRow', 'b', 1],
      ['finalize', 'b', 1],
    ]);
    expect(rows.at(-1)?.output.ARGS).toEqual({ X: { type: 'VARCHAR', isConst: false }, K: { type: 'VARCHAR', isConst: true, constValue: 'customers' } });
    // finalize rows keep only the PARTITION BY column: X is NULL
    expect(rows.filter((r) => r.from === 'finalize').map((r) => r.input)).toEqual([
      { K: 'a', X: null },
      { K: 'b', X: null },
    ]);
  });

  it('passes SQL NULL as undefined and leaves unwritten columns NULL', () => {
    const { rows } = runJavascriptUdtf(ECHO_STATE, { ...call, partitionBy: ['K'] });
    expect(rows.filter((r) => r.from === 'processRow').map((r) => r.output.IS_UNDEFINED)).toEqual([false, true, false]);
    expect(rows[0]?.output.ARGS).toBeNull();
  });

  it('orders rows within a partition by ORDER BY', () => {
    const { rows } = runJavascriptUdtf(`{ processRow: function (row, w) { w.writeRow({ V: row.X }); } }`, {
      args: [{ name: 'x', type: 'VARCHAR' }],
      returns: [{ name: 'V', type: 'VARCHAR' }],
      input: [{ X: 'b' }, { X: 'c' }, { X: 'a' }],
      call: (r) => [r.X],
      partitionBy: [],
      orderBy: (a, b) => String(a.X).localeCompare(String(b.X)),
    });
    expect(rows.map((r) => r.output.V)).toEqual(['a', 'b', 'c']);
  });

  it('can split implicit partitions per row, so code that assumes one partition shows it', () => {
    const { rows } = runJavascriptUdtf(CHAR_SUM, { args: [{ name: 'INS', type: 'STRING' }], returns: [{ name: 'NUM', type: 'FLOAT' }], input: PARTS.slice(0, 2), call: (r) => [r.S], implicit: 'per-row' });
    expect(rows.map((r) => r.output.NUM)).toEqual([7, 7, 5, 5]);
  });

  it('converts results to the declared types and drops undefined inside a VARIANT', () => {
    const { rows } = runJavascriptUdtf(`{ processRow: function (row, w) { w.writeRow({ S: 12, D: '2.5', A: [1, undefined, { k: undefined, j: null }], V: null }); } }`, {
      args: [],
      returns: [
        { name: 'S', type: 'VARCHAR' },
        { name: 'D', type: 'DOUBLE' },
        { name: 'A', type: 'ARRAY' },
        { name: 'V', type: 'VARIANT' },
      ],
      call: () => [],
    });
    expect(rows[0]?.output).toEqual({ S: '12', D: 2.5, A: [1, { j: null }], V: VARIANT_NULL });
  });

  it('refuses a body that is not an object literal with processRow, and integer arguments', () => {
    expect(() => runJavascriptUdtf('return 1;', { args: [], returns: [], call: () => [] })).toThrow(UdtfError);
    expect(() => runJavascriptUdtf('{ finalize: function () {} }', { args: [], returns: [], call: () => [] })).toThrow(/processRow/);
    expect(() => runJavascriptUdtf(HELLO_WORLD0, { args: [{ name: 'n', type: 'INTEGER' }], returns: [], call: () => [1] })).toThrow(/integer/);
  });

  it('turns a JavaScript error into an execution error', () => {
    expect(() => runJavascriptUdtf(`{ processRow: function () { throw new Error('bad line'); } }`, { args: [], returns: [], call: () => [] })).toThrow(
      /JavaScript execution error: bad line/,
    );
  });
});
