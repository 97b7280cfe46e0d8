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
import { checkFindings } from './findings.ts';
import { gatherArtifacts, type RunArtifacts } from './gather.ts';
import { PAPER, paperCell } from './paper.ts';
import { wilson } from './stats.ts';
import { csvTable, markdownTable } from './table.ts';
import { renderMarkdown } from './markdown.ts';

export * from './findings.ts';
export * from './stats.ts';
export * from './table.ts';
export * from './paper.ts';
export * from './gather.ts';

export const ReportStageConfig = z
  .object({ pipeline: z.string(), config: PipelineConfig, combinations: z.array(z.string()).min(1) })
  .strict();
export type ReportStageConfig = z.infer<typeof ReportStageConfig>;

export function buildSummary(config: ReportStageConfig, run: RunArtifacts): ReportSummary {
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
    })),
  );
  const findings = checkFindings(rows, new Map(run.evaluations.map((e) => [e.id, e.errors])));
  const b = run.bucketing;
  const dataset = config.config.dataset;
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    pipeline: config.pipeline,
    rows,
    findings,
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
    },
    paper: PAPER,
  };
}

/** report: → report.md, table.csv, summary.json (and report.html). Deterministic: no times or dates. */
export async function report(rawConfig: unknown, artifactsDir: string, outDir: string): Promise<ReportSummary> {
  const config = parseWith(ReportStageConfig, rawConfig, 'report config');
  const run = await gatherArtifacts(artifactsDir, config.combinations);
  const summary = ReportSummary.parse(buildSummary(config, run));
  await writeDirAtomic(outDir, async (tmp) => {
    await writeFileAtomic(path.join(tmp, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    await writeFileAtomic(path.join(tmp, 'table.csv'), csvTable(summary, paperCell));
    await writeFileAtomic(path.join(tmp, 'report.md'), renderMarkdown(summary, config));
    await writeFileAtomic(path.join(tmp, 'table.md'), markdownTable(summary.rows) + '\n');
  });
  return summary;
}
