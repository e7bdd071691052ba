/** The sample data generator library; the CLI is local/cli/generate.ts. */
export { generateSampleData, validateGenerateOptions, LAYOUT, LIMITS } from './generate';
export type { GenerateOptions, GenerateProgress, GenerateSummary } from './generate';
export * from './distributions';
export { formatTransaction, csvRow, pyJsonString } from './format';
export type { Transaction, BasketItem } from './format';
export { yesterdayUtc, parseIsoDate, formatIsoDate, addMonthsClamped } from './calendar';
