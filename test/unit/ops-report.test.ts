/**
 * The report page and its charts as text (no browser: test/integration/ops-report.test.ts renders
 * it in Chromium), and the arrival-to-build lag measurement of the rebuild.
 */
import type { ReportData } from '../../shared/ops/report/data';
import { parseWarehouseTimestamp } from '../../shared/ops/report/data';
import { formatDuration, renderReport } from '../../shared/ops/report/html';
import { barChart, columnChart, niceScale } from '../../shared/ops/report/svg';
import { measureArrivalLag } from '../../shared/rebuild';
import type { Row, Warehouse } from '../../shared/warehouse/port';

function data(overrides: Partial<ReportData> = {}): ReportData {
  return {
    generatedAt: '2024-03-01T12:00:00.000Z',
    stage: 'local',
    engine: 'duckdb',
    freshness: {
      newestArrivalAt: '2024-03-01 10:00:00',
      newestPurchaseAt: '2024-02-29 23:00:00',
      arrivalAgeSeconds: 7200,
      maxAgeHours: 24,
    },
    totals: [{ dataset: 'transactions', files: 2, rowsLoaded: 1234, rowsQuarantined: 1 }],
    days: [
      {
        day: '2024-03-01',
        filesLoaded: 2,
        rowsLoaded: 1234,
        rowsQuarantined: 1,
        filesFailed: 0,
        filesSuperseded: 0,
      },
    ],
    failures: [],
    quarantineReasons: [],
    tests: null,
    runs: null,
    months: [
      { month: '2024-01', items: 40, amount: 10.5 },
      { month: '2024-02', items: 100, amount: 20 },
    ],
    categories: [{ category: 'food', items: 140, amount: 30.5 }],
    deliveries: null,
    ...overrides,
  };
}

describe('renderReport', () => {
  it('is self-contained: no script, no external resource, a CSP that forbids any', () => {
    const html = renderReport(data());
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    expect(html).not.toMatch(/<script|<link|<img|src=|@import|url\(/i);
    expect(html.match(/https?:\/\/[^"\s]*/g)).toEqual([
      'http://www.w3.org/2000/svg',
      'http://www.w3.org/2000/svg',
    ]);
  });

  it('escapes everything that comes from the warehouse', () => {
    const html = renderReport(
      data({
        failures: [
          {
            key: 'transactions/<img src=x onerror=alert(1)>.json',
            version: '"v"',
            attempts: 2,
            error: '<b>boom</b> & more',
            at: null,
          },
        ],
      }),
    );
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('transactions/&lt;img src=x onerror=alert(1)&gt;.json');
    expect(html).toContain('&lt;b&gt;boom&lt;/b&gt; &amp; more');
  });

  it("shows each destination's deliveries, escaped, and says when no transfer has run", () => {
    expect(renderReport(data())).toContain('no transfer has run yet');
    const html = renderReport(
      data({
        deliveries: [
          {
            destination: 'acme',
            named: true,
            runs: [
              {
                run_id: 'r2',
                status: 'failed',
                destination: 'acme',
                source_table: 'T',
                bucket: 'acme-drop',
                origin: 'schedule',
                requested_by: null,
                accepted_at: '2024-06-03T06:00:00.000Z',
                error: '<b>S3 refused</b>',
              },
              {
                run_id: 'r1',
                status: 'succeeded',
                destination: 'acme',
                source_table: 'T',
                bucket: 'acme-drop',
                origin: 'api',
                requested_by: 'arn',
                accepted_at: '2024-06-02T06:00:00.000Z',
                result: { file_name: 'shopping/T/r1/_manifest.json', row_count: 240, timestamp: 't' },
              },
            ],
          },
        ],
      }),
    );
    expect(html).toContain('data-destination="acme"');
    expect(html).toContain('data-run="r2" data-status="failed"');
    expect(html).toContain('data-run="r1" data-status="succeeded"');
    expect(html).toContain('data-cell="rows-r1" data-value="240"');
    expect(html).toContain('s3://acme-drop/shopping/T/r1/_manifest.json');
    expect(html).toContain('&lt;b&gt;S3 refused&lt;/b&gt;');
    expect(html).not.toContain('<b>S3 refused');
  });

  it('says what is missing before the first rebuild instead of showing empty numbers', () => {
    const html = renderReport(data({ tests: null, runs: null }));
    expect(html).toContain('no data-test results yet');
    expect(html).toContain('no rebuild has run yet');
    expect(html).toContain('data-metric="lag-seconds" data-value=""');
  });

  it('prints numbers with separators and keeps the raw value beside them', () => {
    const html = renderReport(data());
    expect(html).toContain('<span data-cell="rows-transactions" data-value="1234">1,234</span>');
    expect(html).toContain('data-metric="rows-live" data-value="1234">1,234<');
  });
});

describe('charts', () => {
  it('niceScale covers the maximum on a 1-2-2.5-5 step with at most 5 steps', () => {
    for (const max of [1, 7, 10, 99, 101, 250, 999, 12345, 0.3]) {
      const { top, step } = niceScale(max);
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect(top).toBeGreaterThanOrEqual(max);
      expect([1, 2, 2.5, 5]).toContain(Number(mantissa.toFixed(6)));
      expect(top / step).toBeLessThanOrEqual(5);
    }
    expect(niceScale(0)).toEqual({ top: 1, step: 1 });
  });

  it('columnChart draws one bar per value, heights proportional to the values', () => {
    const bars = [
      { label: 'a', value: 40 },
      { label: 'b', value: 100 },
      { label: 'c', value: 0 },
    ];
    const svg = columnChart({ id: 'x', title: 'T', bars });
    const rects = [
      ...svg.matchAll(/<rect class="bar" data-label="(\w)" data-value="(\d+)"[^>]* height="([\d.]+)"/g),
    ].map((m) => [m[1], Number(m[2]), Number(m[3])] as const);
    expect(rects.map((r) => [r[0], r[1]])).toEqual(bars.map((b) => [b.label, b.value]));
    expect(rects[0]![2] / rects[1]![2]).toBeCloseTo(0.4, 2);
    expect(rects[2]![2]).toBe(0);
  });

  it('barChart labels every bar and shows an empty chart as such', () => {
    const svg = barChart({ id: 'c', title: 'Cats', bars: [{ label: 'a&b', value: 3 }] });
    expect(svg).toContain('data-label="a&amp;b"');
    expect(svg).toContain('aria-label="Cats"');
    expect(barChart({ id: 'e', title: 'E', bars: [] })).toContain('>no data<');
  });
});

describe('formatDuration and timestamps', () => {
  it('reads like a person would say it', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(5 * 3600 + 12 * 60)).toBe('5 h 12 min');
    expect(formatDuration(2 * 86400 + 3 * 3600 + 59)).toBe('2 d 3 h');
  });

  it('parses the port’s naive UTC timestamps', () => {
    expect(parseWarehouseTimestamp('2024-03-01 10:00:00')).toBe(Date.UTC(2024, 2, 1, 10));
    expect(parseWarehouseTimestamp('2024-03-01 10:00:00.250')).toBe(Date.UTC(2024, 2, 1, 10, 0, 0, 250));
  });
});

describe('measureArrivalLag', () => {
  const stub = (rows: Row[]): Warehouse =>
    ({ engine: 'snowflake', query: async () => rows }) as unknown as Warehouse;

  it('is the build time minus the newest arrival, in seconds (upper-case columns from Snowflake too)', async () => {
    const lag = await measureArrivalLag(
      stub([{ NEWEST_ARRIVAL_AT: '2024-03-01 10:00:00.400' }]),
      new Date('2024-03-01T12:30:00Z'),
    );
    expect(lag).toEqual({
      newestArrivalAt: '2024-03-01 10:00:00',
      lagSeconds: Math.round((2.5 * 3600 * 1000 - 400) / 1000),
    });
  });

  it('is null when nothing is loaded', async () => {
    expect(await measureArrivalLag(stub([{ newest_arrival_at: null }]), new Date())).toEqual({
      newestArrivalAt: null,
      lagSeconds: null,
    });
    expect(await measureArrivalLag(stub([]), new Date())).toEqual({
      newestArrivalAt: null,
      lagSeconds: null,
    });
  });
});
