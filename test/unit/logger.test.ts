/**
 * shared/logger.ts: the project's Logger over Powertools for AWS Lambda (JSON lines and EMF metrics in
 * Lambda), the readable text line on a terminal, one sink for every line, the level read per line.
 * EMF: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { createLogger, setLogSink, type Level } from '../../shared/logger';

describe('logger', () => {
  const saved = { format: process.env.LOG_FORMAT, level: process.env.LOG_LEVEL };
  let lines: Array<{ line: string; level: Level }>;
  let stdout: jest.SpyInstance;
  let stderr: jest.SpyInstance;

  beforeEach(() => {
    lines = [];
    setLogSink((line, level) => lines.push({ line, level }));
    process.env.LOG_LEVEL = 'debug';
    stdout = jest.spyOn(process.stdout, 'write');
    stderr = jest.spyOn(process.stderr, 'write');
  });

  afterEach(() => {
    setLogSink((line) => process.stderr.write(line + '\n'));
    stdout.mockRestore();
    stderr.mockRestore();
    for (const [name, value] of [
      ['LOG_FORMAT', saved.format],
      ['LOG_LEVEL', saved.level],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('writes Powertools JSON lines in Lambda, with the child fields, through the sink only', () => {
    // Prepare
    process.env.LOG_FORMAT = 'json';
    const log = createLogger({ fn: 'ingest' }).child({ batch: 'b1' });

    // Act
    log.warn('record failed', { key: 'transactions/d=2018-09-01/a.json', attempt: 2, skipped: undefined });

    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('warn');
    const record = JSON.parse(lines[0]!.line) as Record<string, unknown>;
    expect(record).toMatchObject({
      level: 'WARN',
      message: 'record failed',
      service: 'shopping-patterns',
      fn: 'ingest',
      batch: 'b1',
      key: 'transactions/d=2018-09-01/a.json',
      attempt: 2,
    });
    expect(record).not.toHaveProperty('skipped');
    expect(Number.isNaN(Date.parse(String(record.timestamp)))).toBe(false);
    expect(stdout).not.toHaveBeenCalled();
    expect(stderr).not.toHaveBeenCalled();
  });

  it('keeps the readable text line on a terminal', () => {
    process.env.LOG_FORMAT = 'text';
    createLogger({ fn: 'rebuild' }).info('models built', { count: 4, note: 'two words' });
    expect(lines.map((l) => l.line)).toEqual([
      expect.stringMatching(
        /^\d{2}:\d{2}:\d{2}\.\d{3} INFO {2}models built fn=rebuild count=4 note="two words"$/,
      ),
    ]);
  });

  it('honours LOG_LEVEL per line, in both formats', () => {
    const log = createLogger();
    for (const format of ['json', 'text']) {
      process.env.LOG_FORMAT = format;
      process.env.LOG_LEVEL = 'warn';
      log.info('hidden');
      log.error('shown');
    }
    expect(lines.map((l) => l.level)).toEqual(['error', 'error']);
  });

  it('writes metrics as EMF with exactly the dimensions given (no added service dimension), JSON mode only', () => {
    // Prepare
    process.env.LOG_FORMAT = 'json';
    const log = createLogger();

    // Act
    log.metrics(
      'ShoppingPatterns/Rebuild',
      { ArrivalToBuildLagSeconds: 42, TestsFailed: 0 },
      { Stage: 'dev' },
    );
    process.env.LOG_FORMAT = 'text';
    log.metrics('ShoppingPatterns/Rebuild', { ArrivalToBuildLagSeconds: 1 }, { Stage: 'dev' });

    // Assess
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0]!.line) as {
      _aws: { Timestamp: number; CloudWatchMetrics: Array<Record<string, unknown>> };
    } & Record<string, unknown>;
    expect(emf._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'ShoppingPatterns/Rebuild',
        Dimensions: [['Stage']],
        Metrics: expect.arrayContaining([
          expect.objectContaining({ Name: 'ArrivalToBuildLagSeconds' }),
          expect.objectContaining({ Name: 'TestsFailed' }),
        ]),
      },
    ]);
    expect(emf).toMatchObject({ Stage: 'dev', ArrivalToBuildLagSeconds: 42, TestsFailed: 0 });
    expect(emf).not.toHaveProperty('service');
    expect(typeof emf._aws.Timestamp).toBe('number');
  });
});
