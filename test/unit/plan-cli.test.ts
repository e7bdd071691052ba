/**
 * `npm run plan` (local/cli/plan.ts): arguments, formats and clear errors. The arithmetic itself is
 * tested in capacity-model.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runPlan } from '../../local/cli/plan';
import { num, renderAllGrids, renderTable } from '../../local/plan/render';

describe('npm run plan', () => {
  it('prints the ingest table for the given workload', () => {
    // Act
    const r = runPlan(['--files-per-day', '1000', '--mb-per-file', '1']);
    // Assess
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Workload: 1,000 files/day');
    expect(r.stdout).toMatch(/warehouse size\s+X-Small\s+X-Small\s+X-Small/);
    expect(r.stdout).toMatch(/SQS batch size \/ batching window \(s\)\s+1000 \/ 300/);
    expect(r.stdout).toContain('Cheapest under the current pricing');
  });

  it('json carries the same plan, with the inputs it was given', () => {
    const r = runPlan([
      '--files-per-day',
      '1_000',
      '--mb-per-file',
      '1',
      '--credit-usd',
      '2',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.input).toEqual({
      filesPerDay: 1000,
      mbPerFile: 1,
      creditUsd: 2,
      compressionRatio: 1,
      maxWindowS: 300,
      batchSize: 0,
      design: 'append',
      maxConcurrency: 0,
      accountConcurrency: 1000,
      historyDays: 365,
    });
    // 4.87574315 credits at $2 (capacity-model.test.ts works them out)
    expect(plan.modes.copy.usd.snowflake).toBeCloseTo(9.7514863, 4);
  });

  it("--deployed evaluates serverless.yml's batching and concurrency; --design lock the old hot path", () => {
    const r = runPlan([
      '--files-per-day',
      '100000',
      '--mb-per-file',
      '0.01',
      '--deployed',
      '--design',
      'lock',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.input).toMatchObject({ batchSize: 10, maxWindowS: 5, maxConcurrency: 5, design: 'lock' });
    expect(plan.modes.copy.lambdaMaxConcurrency).toBe(5);
    // 17,280 invocations holding the lock 3.0008 s each (capacity-model.test.ts): 60% of the day
    expect(plan.modes.copy.serialisation.utilisation).toBeCloseTo(0.6, 2);
  });

  it('the table names the binding limit and every term', () => {
    const r = runPlan(['--files-per-day', '10000000', '--mb-per-file', '0.0001', '--deployed']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/binding limit\s+mapping concurrency \d/);
    for (const name of [
      'Lambda budget',
      'warehouse compute',
      'statement slots',
      'lock held',
      'lock waiters',
      'mapping concurrency',
      'account concurrency',
      'invocation payload',
      'rebuild',
    ])
      expect(r.stdout).toContain(`  ${name} `);
    expect(r.stdout).toMatch(/fits \(every limit at most 100%\)\s+NO/);
  });

  it('markdown tables for the document: four sections', () => {
    const r = runPlan(['--grid', '--format', 'md']);
    expect(r.code).toBe(0);
    const sections = r.stdout.split(/^<!-- plan --grid: /m).slice(1);
    expect(sections.map((s) => s.slice(0, s.indexOf(' -->')))).toEqual([
      'ingest, append hot path',
      'ingest, the old dataset lock',
      'weekly rebuild and compaction',
      'transfer',
    ]);
    const workloads = (s: string) =>
      s.split('\n').filter((l) => /^\| (1,000|100,000|10,000,000) \| (1|100|10,240) \|/.test(l));
    // 9 ingest scenarios (3 file counts x 3 volumes) per design, 6 rebuilds (3 volumes x 2 histories),
    // 6 transfers (3 sizes x 2 reductions)
    expect(workloads(sections[0]!)).toHaveLength(9);
    expect(workloads(sections[1]!)).toHaveLength(9);
    expect(sections[2]!.split('\n').filter((l) => /^\| (1|100|10,240) \| (30|365) \|/.test(l))).toHaveLength(
      6,
    );
    expect(sections[3]!.split('\n').filter((l) => /^\| (1|100|1,000) \| [\d,]+ \|/.test(l))).toHaveLength(6);
  });

  it('no grid row says "yes" where one of its terms does not fit', () => {
    // the rendered verdicts against the plans' own terms, row by row (capacity-model.test.ts checks the terms)
    const r = runPlan(['--grid', '--format', 'json']);
    const grid = JSON.parse(r.stdout);
    const md = runPlan(['--grid', '--format', 'md']).stdout;
    const rows = md
      .split(/^<!-- plan --grid: /m)[1]!
      .split('\n')
      .filter((l) => /^\| [\d,]+ \| [\d,]+ \|/.test(l))
      .map((l) => l.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, '')));
    const header = md
      .split('\n')[1]!
      .split(' | ')
      .map((c) => c.replace(/^\| |\s\|$/g, ''));
    const col = (name: string) => header.findIndex((h) => h === name);
    expect(rows).toHaveLength(grid.ingest.length);
    rows.forEach((cells, i) => {
      const plan = grid.ingest[i];
      const best = plan.modes[plan.cheapest];
      const ingestTerms = best.terms.filter((t: { name: string }) => t.name !== 'rebuild');
      expect(cells[col('ingest fits')]).toBe(
        ingestTerms.every((t: { fits: boolean }) => t.fits) ? 'yes' : 'NO',
      );
      expect(cells[col('rebuild fits')]).toBe(plan.rebuild.fits ? 'yes' : 'NO');
      const deployed = grid.ingestDeployed[i].modes.copy;
      const deployedTerms = deployed.terms.filter((t: { name: string }) => t.name !== 'rebuild');
      expect(cells[col('deployed fits')]).toBe(
        deployedTerms.every((t: { fits: boolean }) => t.fits) ? 'yes' : 'NO',
      );
    });
  });

  it('docs/SCALE.md carries the grid exactly as `npm run plan -- --grid --format md` prints it', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'SCALE.md'), 'utf8');
    for (const section of renderAllGrids(undefined, 'md').split(/\n(?=<!-- plan --grid: )/))
      expect(doc).toContain(section.trimEnd());
  });

  it('plans a transfer', () => {
    const r = runPlan(['--table-gb', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\bstream\b/);
  });

  it('says what is wrong with the arguments, exit code 2', () => {
    expect(runPlan(['--files-per-day', '1000']).stderr).toContain('give --files-per-day and --mb-per-file');
    expect(runPlan(['--files-per-day', 'many', '--mb-per-file', '1']).stderr).toContain(
      '--files-per-day must be a non-negative number, got "many"',
    );
    expect(runPlan(['--files-per-day', '1', '--mb-per-file', '1', '--format', 'xml']).stderr).toContain(
      'unknown --format xml',
    );
    expect(runPlan(['--bogus']).code).toBe(2);
    expect(runPlan(['--files-per-day', '0', '--mb-per-file', '1']).stderr).toContain(
      'files per day must be a positive number',
    );
    expect(runPlan(['--files-per-day', '1', '--mb-per-file', '1', '--design', 'mutex']).stderr).toContain(
      '--design must be append or lock',
    );
    expect(
      runPlan(['--files-per-day', '1', '--mb-per-file', '1', '--max-concurrency', '1']).stderr,
    ).toContain('max concurrency must be an integer 2..1000');
    expect(runPlan(['--help']).code).toBe(0);
  });
});

describe('table rendering', () => {
  it('aligns text columns and writes Markdown', () => {
    expect(
      renderTable(
        ['a', 'bb'],
        [
          ['x', '1'],
          ['yy', '22'],
        ],
        'table',
      ),
    ).toBe('a   bb\n--  --\nx    1\nyy  22');
    expect(renderTable(['a', 'b'], [['1', '2']], 'md')).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
  });

  it('prints numbers with three significant digits and separators', () => {
    expect(num(12_345.6)).toBe('12,346');
    expect(num(123.4)).toBe('123');
    expect(num(12.34)).toBe('12.3');
    expect(num(1.234)).toBe('1.23');
    expect(num(0.01234)).toBe('0.0123');
    expect(num(0)).toBe('0');
    expect(num(Infinity)).toBe('∞');
  });
});
