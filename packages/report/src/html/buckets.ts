/** The confidence buckets in words, for the page. */
import type { BucketName, ReportSummary } from '@gradsign/core';
import { formatNumber } from '../format.ts';

/** A bucket's clean-confidence range: "0.6 ≤ clean confidence < 0.9". */
export function bucketRange(s: ReportSummary, bucket: BucketName): string {
  const t = s.setup.buckets.thresholds;
  if (bucket === 'high') return `clean confidence ≥ ${formatNumber(t.high)}`;
  if (bucket === 'medium') return `${formatNumber(t.medium)} ≤ clean confidence < ${formatNumber(t.high)}`;
  return `clean confidence < ${formatNumber(t.medium)}`;
}

/** How the buckets were cut, in a sentence (the run facts and the histogram's caption). */
export function ruleText(s: ReportSummary): string {
  const t = s.setup.buckets.thresholds;
  return s.setup.buckets.rule === 'quantile'
    ? `quantile rule: the cut-offs are the terciles of the correctly classified images' clean confidence (medium ≥ ${formatNumber(t.medium)}, high ≥ ${formatNumber(t.high)}), so each bucket holds about a third of them. The paper's fixed thresholds (0.15 and 0.30, for 1,000 ImageNet classes) would leave almost nothing in the low and medium buckets of a 10-class model.`
    : `the paper's fixed thresholds: low < ${formatNumber(t.medium)} ≤ medium < ${formatNumber(t.high)} ≤ high.`;
}
