/**
 * `npm run plan` (local/cli/plan.ts): arguments, formats and clear errors. The arithmetic itself is
 * tested in capacity-model.test.ts.
 */
import { runPlan } from '../../local/cli/plan';
import { num, renderTable } from '../../local/plan/render';

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
    });
    // 4.923743 credits at $2
    expect(plan.modes.copy.usd.snowflake).toBeCloseTo(9.847486, 4);
  });

  it('markdown tables for the document', () => {
    const r = runPlan(['--grid', '--format', 'md']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| files/day | GB/day | MB/file | COPY: batch / window s |');
    // 9 ingest scenarios (3 file counts x 3 volumes), then 6 transfer rows (3 sizes x 2 reductions)
    const [ingest, transfer] = r.stdout.split('\n\n');
    expect(
      ingest!.split('\n').filter((l) => /^\| (1,000|100,000|10,000,000) \| (1|100|10,240) \|/.test(l)),
    ).toHaveLength(9);
    expect(transfer!.split('\n').filter((l) => /^\| (1|100|1,000) \| [\d,]+ \|/.test(l))).toHaveLength(6);
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
  });
});
