import path from 'node:path';
import { z } from 'zod';
import {
  PipelineConfig,
  REPORT_SCHEMA_VERSION,
  ReportSummary,
  parseWith,
  writeDirAtomic,
  writeFileAtomic,
  type ReportRow,
} from '@gradsign/core';
import { gradientFlags } from './diagnostics.ts';
import { checkFindingsDetailed, type Comparison } from './findings.ts';
import { gatherArtifacts, gatherFigureData, type RunArtifacts } from './gather.ts';
import { combinationsOf } from './format.ts';
import { renderHtml } from './html.ts';
import { PAPER, paperCell } from './paper.ts';
import { wilson } from './stats.ts';
import { csvTable, markdownTable } from './table.ts';
import { renderMarkdown } from './markdown.ts';

export * from './diagnostics.ts';
export * from './findings.ts';
export * from './stats.ts';
export * from './power.ts';
export * from './table.ts';
export * from './paper.ts';
export * from './gather.ts';
export * from './format.ts';
export { renderHtml, type HtmlInput } from './html.ts';
export * from './export.ts';

export const ReportStageConfig = z
  .object({ pipeline: z.string(), config: PipelineConfig, combinations: z.array(z.string()).min(1) })
  .strict();
export type ReportStageConfig = z.infer<typeof ReportStageConfig>;

export function buildSummary(config: ReportStageConfig, run: RunArtifacts): ReportSummary {
  return buildSummaryDetailed(config, run).summary;
}

/** The summary, and the comparisons behind each finding (for report.html). */
export function buildSummaryDetailed(config: ReportStageConfig, run: RunArtifacts): { summary: ReportSummary; comparisons: Comparison[][] } {
  const rows: ReportRow[] = run.evaluations.flatMap(({ id, summary }) =>
    summary.buckets.map((b) => ({
      combination: id,
      method: summary.attack.method,
      gradient: summary.attack.gradient,
      eps: summary.attack.eps,
      norm: summary.attack.norm,
      steps: summary.attack.steps,
      alpha: summary.attack.alpha,
      bucket: b.bucket,
      n: b.n,
      top1Errors: b.top1Errors,
      top5Errors: b.top5Errors,
      top1Error: b.top1Error,
      top5Error: b.top5Error,
      top1ErrorCI: wilson(b.top1Errors, b.n),
      top5ErrorCI: wilson(b.top5Errors, b.n),
      targetSuccess: b.targetSuccess,
      meanLinf: b.meanLinf,
      meanL2: b.meanL2,
      meanCleanConfidence: b.meanCleanConfidence,
      meanAdversarialTrueProb: b.meanAdversarialTrueProb,
      diagnostics: b.diagnostics,
    })),
  );
  const { findings, comparisons } = checkFindingsDetailed(rows, new Map(run.evaluations.map((e) => [e.id, e.errors])));
  const b = run.bucketing;
  const dataset = config.config.dataset;
  const summary: ReportSummary = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    pipeline: config.pipeline,
    rows,
    findings,
    gradientDiagnostics: { lossScores: run.model.lossScores, flags: gradientFlags(rows) },
    setup: {
      dataset: dataset.kind === 'fashion-mnist' ? 'Fashion-MNIST (test split)' : `image folder ${dataset.dir}`,
      preset: dataset.kind === 'image-folder' ? dataset.preset : null,
      model: run.model.description,
      modelAccuracy: run.model.testAccuracy,
      numClasses: run.model.numClasses,
      classNames: run.model.classNames,
      cleanAccuracy: b.cleanAccuracy,
      buckets: { rule: b.rule, thresholds: b.thresholds, perBucket: b.perBucket, qualified: b.qualified },
      images: 3 * b.perBucket,
      backend: run.model.backend,
      seed: config.config.seed,
      quantize: config.config.evaluate.quantize,
      rejected: run.rejected,
    },
    paper: PAPER,
  };
  return { summary, comparisons };
}

/** How many examples of each bucket report.html shows. */
export const EXAMPLES_PER_BUCKET = 3;

/** report: → report.html, report.md, table.csv, table.md, summary.json. Deterministic: no times or dates. */
export async function report(rawConfig: unknown, artifactsDir: string, outDir: string): Promise<ReportSummary> {
  const config = parseWith(ReportStageConfig, rawConfig, 'report config');
  const options = { pipeline: config.pipeline };
  const run = await gatherArtifacts(artifactsDir, config.combinations, options);
  const built = buildSummaryDetailed(config, run);
  const summary = ReportSummary.parse(built.summary);
  const figures = await gatherFigureData(artifactsDir, config.combinations, EXAMPLES_PER_BUCKET, options);
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
