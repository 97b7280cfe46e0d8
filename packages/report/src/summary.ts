/**
 * summary.json: every combination × bucket row with its Wilson intervals, the paper's findings
 * checked on them, the gradient flags, the run's setup and the paper's own table.
 */
import { REPORT_SCHEMA_VERSION, type PipelineConfig, type ReportRow, type ReportSummary } from '@gradsign/core';
import { gradientFlags } from './diagnostics.ts';
import { checkFindingsDetailed, type Comparison } from './findings.ts';
import type { RunArtifacts } from './gather.ts';
import { PAPER } from './paper.ts';
import { wilson } from './stats.ts';

/** The pipeline a report is about: its name and resolved config (a ReportStageConfig has both). */
export interface ReportedPipeline {
  pipeline: string;
  config: PipelineConfig;
}

/**
 * The backends the run used: one name when every stage ran on it, else each stage's, e.g.
 * `model wasm; attacks webgpu (mesa / software / llvmpipe…); evaluate webgpu (…)`.
 */
export function backendsUsed(run: RunArtifacts): string {
  const used = (stage: 'attacks' | 'evaluate') => [...new Set(run.evaluations.map((e) => e.summary.backends[stage]))].join(', ');
  const stages: [string, string][] = [['model', run.model.backend], ['attacks', used('attacks')], ['evaluate', used('evaluate')]];
  const names = new Set(stages.map(([, b]) => b).filter(Boolean));
  return names.size === 1 ? [...names][0]! : stages.filter(([, b]) => b).map(([stage, b]) => `${stage} ${b}`).join('; ');
}

export function buildSummary(config: ReportedPipeline, run: RunArtifacts): ReportSummary {
  return buildSummaryDetailed(config, run).summary;
}

/** The summary, and the comparisons behind each finding (for report.html). */
export function buildSummaryDetailed(config: ReportedPipeline, run: RunArtifacts): { summary: ReportSummary; comparisons: Comparison[][] } {
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
      backend: backendsUsed(run),
      seed: config.config.seed,
      quantize: config.config.evaluate.quantize,
      rejected: run.rejected,
      decodeWarnings: run.decodeWarnings,
    },
    paper: PAPER,
  };
  return { summary, comparisons };
}
