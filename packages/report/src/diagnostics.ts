/**
 * Possible gradient masking, from the evaluate stage's gradient diagnostics. ReLU networks have
 * exact zero gradients, so zeros alone are no flag; a cell is flagged when the attack's gradient
 * had zeros the network does not explain:
 *
 *  - an image whose first-step gradient is zero everywhere (the attack cannot move it) although
 *    the network passes gradient to some pixel;
 *  - for attacks whose first step is at the clean image (all but PGD, which starts at a random
 *    point), an image with more zero-gradient pixels than the clean image's structural zeros;
 *  - for PGD, a mean zero-gradient share more than `PGD_SHARE_TOLERANCE` above the structural share.
 */
import type { GradientFlag, ModelInfo, ReportRow, ReportSummary } from '@gradsign/core';
import { combinationLabel, countOf, formatPct, type Combinations } from './format.ts';

/** PGD's first gradient is at a random start, whose structural zeros differ from the clean image's. */
export const PGD_SHARE_TOLERANCE = 0.01;

/** The flags of one combination × bucket, as sentences (none: nothing suspicious). */
export function flagReasons(row: ReportRow): string[] {
  const d = row.diagnostics;
  const reasons: string[] = [];
  if (d.allZeroGradient > 0) reasons.push(`${countOf(d.allZeroGradient, 'image')} with an all-zero gradient at the first step`);
  if (row.method === 'pgd') {
    if (d.zeroGradientShare > d.structuralZeroShare + PGD_SHARE_TOLERANCE) {
      reasons.push(`zero-gradient share ${formatPct(d.zeroGradientShare)} above the structural ${formatPct(d.structuralZeroShare)}`);
    }
  } else if (d.excessZeroGradient > d.allZeroGradient) {
    // An all-zero gradient is also an excess one: count the others here.
    reasons.push(`${countOf(d.excessZeroGradient - d.allZeroGradient, 'image')} with more zero-gradient pixels than ReLU and max-pool zeros explain`);
  }
  return reasons;
}

export function gradientFlags(rows: ReportRow[]): GradientFlag[] {
  return rows.flatMap((row) => flagReasons(row).map((reason) => ({ combination: row.combination, bucket: row.bucket, reason })));
}

/** One sentence on what the attack loss was differentiated from. */
export function lossScoresNote(lossScores: ModelInfo['lossScores']): string {
  return lossScores === 'logits'
    ? 'The attack loss was differentiated from the logits, in the log domain (exact on confident images).'
    : 'The model outputs probabilities through a last op that is not a softmax gradsign can step over, so the loss was differentiated from log-probabilities: on very confident images a float32 softmax inside the model may still round the gradient away.';
}

/** The diagnostics as rows of text cells: combination, bucket, then the figures (shared by HTML and Markdown). */
export function diagnosticsCells(row: ReportRow, combinations: Combinations): string[] {
  const d = row.diagnostics;
  return [
    combinationLabel(combinations.get(row.combination)!),
    row.bucket,
    String(d.unperturbed),
    formatPct(d.zeroGradientShare),
    formatPct(d.structuralZeroShare),
    String(d.allZeroGradient),
    String(d.excessZeroGradient),
  ];
}

export const DIAGNOSTICS_HEADER = ['attack', 'bucket', 'unperturbed (L∞ = 0)', 'zero-gradient pixels, first step', 'structural zeros (clean)', 'all-zero gradient', 'more zeros than structural'];

/** What the section says in one paragraph, before the table. */
export function diagnosticsSummary(summary: ReportSummary): string {
  const flags = summary.gradientDiagnostics.flags;
  const unperturbed = summary.rows.reduce((s, r) => s + r.diagnostics.unperturbed, 0);
  const verdict = flags.length
    ? `Possible gradient masking in ${countOf(flags.length, 'cell')}: ${flags.map((f) => `${f.combination} ${f.bucket}: ${f.reason}`).join('; ')}.`
    : 'No cell shows zero gradients beyond what the network\'s ReLU and max-pool zeros explain.';
  return `${lossScoresNote(summary.gradientDiagnostics.lossScores)} ${countOf(unperturbed, 'attacked image')} ${unperturbed === 1 ? 'was' : 'were'} left unperturbed (L∞ = 0) across all cells. ${verdict}`;
}
