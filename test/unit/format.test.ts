import { formatRows } from '../../local/format';

describe('query output formats', () => {
  it('writes RFC 4180 CSV with a header row, quoting only what needs it, NULL as empty', () => {
    const rows = [
      { a: 1, b: 'x,y', c: null },
      { a: 2, b: 'say "hi"', c: 'line\nbreak' },
    ];
    expect(formatRows(rows, 'csv')).toBe('a,b,c\n1,"x,y",\n2,"say ""hi""","line\nbreak"\n');
  });

  it('keeps the header of an empty result when the columns are known', () => {
    expect(formatRows([], 'csv', ['bucket', 'key'])).toBe('bucket,key\n');
    expect(formatRows([], 'csv')).toBe('');
    expect(formatRows([], 'json')).toBe('[]\n');
  });

  it('aligns a table, numbers to the right, and counts the rows', () => {
    const out = formatRows([{ id: 'C1', n: 7 }, { id: 'C10', n: 12 }], 'table').split('\n');
    expect(out).toEqual(['id   n', '---  --', 'C1    7', 'C10  12', '(2 rows)', '']);
  });
});
