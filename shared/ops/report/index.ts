/**
 * `npm run report`: read the numbers (./data.ts), render the page (./html.ts), write one file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Warehouse } from '../../warehouse/port';
import { readReportData, type ReadOptions, type ReportData } from './data';
import { renderReport } from './html';

export { readReportData, renderReport };
export type { ReportData };

export interface WriteReportOptions extends ReadOptions {
  out: string;
}

export async function writeReport(
  wh: Warehouse,
  opts: WriteReportOptions,
): Promise<{ file: string; data: ReportData; bytes: number }> {
  const data = await readReportData(wh, opts);
  const html = renderReport(data);
  const file = path.resolve(opts.out);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // write aside and rename: a browser refreshing the page never reads half a file
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, file);
  return { file, data, bytes: Buffer.byteLength(html) };
}
