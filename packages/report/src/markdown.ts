/** report.md: the run's setup, our table and the paper's, the findings and the gradient diagnostics, as Markdown. */
import type { Finding, PipelineConfig, ReportSummary } from '@gradsign/core';
import { detectableText, VERDICT_RULE } from './findings.ts';
import { DIAGNOSTICS_HEADER, diagnosticsCells, diagnosticsSummary } from './diagnostics.ts';
import { combinationsOf, formatNumber, formatPct } from './format.ts';
import { markdownTable, paperMarkdownTable } from './table.ts';

/** report.md's text; `pipeline` is the resolved pipeline config (its description, its combinations). */
export function renderMarkdown(s: ReportSummary, pipeline: PipelineConfig): string {
  const t = s.setup.buckets.thresholds;
  const rule =
    s.setup.buckets.rule === 'quantile'
      ? `quantile terciles of the correct images' confidence (computed cut-offs: high ≥ ${formatNumber(t.high)}, medium ≥ ${formatNumber(t.medium)})`
      : `the paper's thresholds (high ≥ ${formatNumber(t.high)}, medium ${formatNumber(t.medium)}–${formatNumber(t.high)}, low < ${formatNumber(t.medium)})`;
  const lines = [
    `# gradsign report — pipeline \`${s.pipeline}\``,
    '',
    pipeline.description ? `${pipeline.description}\n` : '',
    '## Setup',
    '',
    `- Dataset: ${s.setup.dataset}${s.setup.preset ? ` (preprocessing preset \`${s.setup.preset}\`)` : ''}` +
      (s.setup.rejected ? `; ${s.setup.rejected} source file(s) rejected (see preprocess/rejects.json)` : '') +
      (s.setup.decodeWarnings ? `; ${s.setup.decodeWarnings} image(s) used although their decoder warned (see preprocess/warnings.json)` : ''),
    `- Model: ${s.setup.model}; test accuracy ${s.setup.modelAccuracy === null ? 'n/a' : formatPct(s.setup.modelAccuracy)}; ${s.setup.numClasses} classes`,
    `- Clean accuracy on ${s.setup.cleanAccuracy.n} evaluated images: top-1 ${formatPct(s.setup.cleanAccuracy.top1)}, top-5 ${formatPct(s.setup.cleanAccuracy.top5)}`,
    `- Buckets: ${rule}; ${s.setup.buckets.perBucket} correctly classified images sampled per bucket (qualified: low ${s.setup.buckets.qualified.low}, medium ${s.setup.buckets.qualified.medium}, high ${s.setup.buckets.qualified.high})`,
    `- Images attacked: ${s.setup.images}; seed ${s.setup.seed}; backend ${s.setup.backend}; ${s.setup.quantize ? 'adversarial images quantised to 8 bits before evaluation' : 'adversarial images evaluated as float32'}`,
    '',
    '## Error rates (Table 1 analog)',
    '',
    'Top-1 error: the adversarial image\'s top-1 class is not the true label. Top-5 error: the true label is not among its top 5. ' +
      'Every image was classified correctly before the attack, so the clean error is 0 in every cell.',
    '',
    markdownTable(s.rows),
    '',
    `### The paper's Table 1 (Inception V3 on ImageNet, ε not stated)`,
    '',
    paperMarkdownTable(),
    '',
    '## The paper\'s findings on this run',
    '',
    VERDICT_RULE,
    '',
    ...s.findings.map(findingMarkdown),
    '',
    '## Gradient diagnostics',
    '',
    diagnosticsSummary(s),
    '',
    `| ${DIAGNOSTICS_HEADER.join(' | ')} |`,
    `| ${DIAGNOSTICS_HEADER.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...s.rows.map((r) => `| ${diagnosticsCells(r, combinationsOf(pipeline)).join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

/** One finding: verdict and counts (raw and after Holm), then what its bucket size can detect. */
function findingMarkdown(f: Finding): string {
  const power = detectableText(f);
  return `${f.id}. **${f.claim}** — ${f.verdict.toUpperCase()}. ${f.detail}.` + (power ? `\n   - ${power}` : '');
}
