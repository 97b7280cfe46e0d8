/**
 * The report stage: a pipeline's evaluations (and, for the figures, its bucketing and attacks) →
 * report.html, report.md, table.csv, table.md, summary.json.
 */
import path from 'node:path';
import { z } from 'zod';
import { defineStage, PipelineConfig, ReportSummary, parseWith, writeDirAtomic, writeFileAtomic } from '@gradsign/core';
import { gatherReport } from './gather.ts';
import { combinationsOf } from './format.ts';
import { renderHtml } from './html/page.ts';
import { renderMarkdown } from './markdown.ts';
import { paperCell } from './paper.ts';
import { buildSummaryDetailed } from './summary.ts';
import { csvTable, markdownTable } from './table.ts';

export const ReportStageConfig = z
  .object({ pipeline: z.string(), config: PipelineConfig, combinations: z.array(z.string()).min(1) })
  .strict();
export type ReportStageConfig = z.infer<typeof ReportStageConfig>;

/** How many examples of each bucket report.html shows. */
export const EXAMPLES_PER_BUCKET = 3;

/** report: → report.html, report.md, table.csv, table.md, summary.json. Deterministic: no times or dates. */
export async function report(rawConfig: unknown, artifactsDir: string, outDir: string): Promise<ReportSummary> {
  const config = parseWith(ReportStageConfig, rawConfig, 'report config');
  const { run, figures } = await gatherReport(artifactsDir, config.combinations, { pipeline: config.pipeline, examplesPerBucket: EXAMPLES_PER_BUCKET });
  const built = buildSummaryDetailed(config, run);
  const summary = ReportSummary.parse(built.summary);
  const { height, width, channels } = run.bucketing;
  const html = await renderHtml({ summary, pipeline: config.config, combinations: combinationsOf(config.config), comparisons: built.comparisons, figures, image: { height, width, channels } });
  await writeDirAtomic(outDir, async (tmp) => {
    await writeFileAtomic(path.join(tmp, 'report.html'), html);
    await writeFileAtomic(path.join(tmp, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    await writeFileAtomic(path.join(tmp, 'table.csv'), csvTable(summary, paperCell));
    await writeFileAtomic(path.join(tmp, 'report.md'), renderMarkdown(summary, config.config));
    await writeFileAtomic(path.join(tmp, 'table.md'), markdownTable(summary.rows) + '\n');
  });
  return summary;
}

export const reportStage = defineStage({
  name: 'gradsign-report',
  summary: "build the report (report.html, report.md, table.csv, summary.json) from a pipeline's evaluations",
  config: ReportStageConfig,
  configExample: '{"pipeline", "config", "combinations"}',
  inputs: { artifacts: "the pipeline's artifacts directory (artifacts/<pipeline>)" },
  output: 'report.html, report.md, table.csv, table.md, summary.json',
  run: (config, { artifacts, out }) => report(config, artifacts, out),
  printResult: (summary, { out }) => `${markdownTable(summary.rows)}\n\nreport: ${out}/report.html\n`,
});
