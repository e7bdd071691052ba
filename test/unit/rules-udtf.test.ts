/**
 * The rules as Snowflake runs them: the body of each dataset's table function, as migrate renders it
 * (shared/ingest/landing/stage-sql.ts), run the way Snowflake documents tabular JavaScript UDFs
 * (test/support/fake-snowflake/udtf.ts), gives what the rules give in Node on the same lines; rows
 * written from finalize() still know their file (every file column is a PARTITION BY column). The
 * committed bundle is what the rules' source builds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defaultRegistry } from '../../shared/datasets';
import { judgeFunctionDdl, judgeReturns } from '../../shared/ingest/landing/stage-sql';
import { BUNDLE_FILE, buildRulesBundle } from '../../shared/ingest/rules/bundle';
import { projectRoot } from '../../shared/paths';
import { runJavascriptUdtf } from '../support/fake-snowflake/udtf';
import { judgeText } from '../support/judge';

function body(dataset: string): string {
  const ddl = judgeFunctionDdl(defaultRegistry, dataset);
  const m = /\$\$\n([\s\S]*)\n\$\$$/.exec(ddl);
  if (!m) throw new Error('no $$ body');
  return m[1]!;
}

/** Lines of a file through the table function, partitioned by file as the INSERT partitions them. */
function viaUdtf(dataset: string, text: string) {
  const lines = text === '' ? [] : text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const input = lines.map((line, i) => ({ _LOAD_ID: 'L', LINE: line, LINE_NUMBER: i + 1 }));
  const spec = defaultRegistry.spec(dataset);
  const { rows } = runJavascriptUdtf(body(dataset), {
    args: [
      { name: 'line', type: 'VARCHAR' },
      { name: 'line_number', type: 'DOUBLE' },
    ],
    returns: judgeReturns(spec).map((c) => ({ name: c.name, type: c.type.toUpperCase() })),
    input,
    call: (r) => [r.LINE, r.LINE_NUMBER],
    partitionBy: ['_LOAD_ID'],
    orderBy: (a, b) => (a.LINE_NUMBER as number) - (b.LINE_NUMBER as number),
  });
  const out = { rows: Object.fromEntries(spec.tables.map((t) => [t.name, [] as unknown[][]])), quarantined: [] as [number, string, string][], fatal: null as string | null };
  for (const r of rows) {
    expect(r.input._LOAD_ID).toBe('L'); // the file is known, finalize() rows included
    const o = r.output;
    if (o.OUT_KIND === 0) {
      const t = spec.tables[o.OUT_TABLE as number]!;
      out.rows[t.name]!.push([o.LINE_NUMBER, ...t.columns.map((c) => (c.kind === 'recordId' ? null : o[`T${o.OUT_TABLE}_${c.name}`.toUpperCase()] ?? null))]);
    } else if (o.OUT_KIND === 1) out.quarantined.push([o.LINE_NUMBER as number, o.RAW_TEXT as string, o.REASON as string]);
    else out.fatal = o.REASON as string;
  }
  return { out, rows };
}

const good = { customer_id: 'C1', basket: [{ product_id: 'P01', price: 506 }], date_of_purchase: '2018-09-01 11:09:00' };
const CASES: [string, string][] = [
  ['transactions', [JSON.stringify(good), '', 'oops', '{"customer_id": 7}', JSON.stringify({ ...good, basket: [{ product_id: 'P2', price: 1.5 }, { product_id: 'P3', price: -2 }] })].join('\r\n') + '\r\n'],
  ['transactions', '\ufeff' + JSON.stringify({ ...good, date_of_purchase: '2019-02-29 10:00:00' }) + '\n' + JSON.stringify({ ...good, basket: [] })],
  ['customers', '\ufeffcustomer_id,loyalty_score\r\nC1,7\r\nC2,seven\r\nC3,1,2\r\n\r\nC4,10\r\n , 3\r\n'],
  ['products', 'product_id,product_description,product_category\nP1,"men\'s belt, ""brown""",clothes\nP2,"two\nlines",house\nP3,x\n'],
  ['products', 'product_id,product_description,product_category\nP1,"open,house\nP2,x,food\n'],
  ['customers', 'product_id,product_description,product_category\nP1,x,house\n'],
  ['customers', ''],
];

describe('the rules table function as Snowflake runs it', () => {
  it.each(CASES.map((c, i) => [i, ...c]))('case %i (%s) gives what the rules give in Node', (_i, dataset, text) => {
    const { out } = viaUdtf(dataset as string, text as string);
    expect(out).toEqual(judgeText(dataset as string, text as string));
  });

  it('writes the unclosed-quote verdict from finalize(), where only the partition columns are known', () => {
    const { rows } = viaUdtf('products', 'product_id,product_description,product_category\nP1,"open,house\n');
    const fatal = rows.filter((r) => r.output.OUT_KIND === 2);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.from).toBe('finalize');
    expect(fatal[0]!.input).toMatchObject({ _LOAD_ID: 'L', LINE: null, LINE_NUMBER: null });
  });

  it('judges each line once: one call per line, rows streamed from processRow, nothing held to finalize()', () => {
    const text = Array.from({ length: 50 }, (_, i) => JSON.stringify({ ...good, customer_id: `C${i}` })).join('\n');
    const { rows } = viaUdtf('transactions', text);
    expect(rows.every((r) => r.from === 'processRow')).toBe(true);
    expect(rows.filter((r) => r.output.OUT_TABLE === 0)).toHaveLength(50);
  });

  it('fits Snowflake’s recommended body size (100 KB)', () => {
    // https://docs.snowflake.com/en/developer-guide/udf/javascript/udf-javascript-limitations
    for (const d of defaultRegistry.names()) expect(Buffer.byteLength(body(d))).toBeLessThan(100 * 1024);
  });
});

describe('the rules bundle', () => {
  it('is committed as the rules source builds it (run npm run build:rules after changing the rules)', async () => {
    const committed = fs.readFileSync(path.join(projectRoot(), BUNDLE_FILE), 'utf8');
    expect(committed).toBe(await buildRulesBundle());
  });
});
