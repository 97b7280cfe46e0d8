/** Sections 4–6 of report.html: the plots (inline SVG) with their captions. */
import type { ReportRow, ReportSummary } from '@gradsign/core';
import { epsLabels, formatCount, type Combinations } from '../format.ts';
import type { FigureData } from '../gather.ts';
import { curvesSpec, histogramSpec, renderSvg, shiftSpec } from '../plots.ts';
import { ruleText } from './buckets.ts';
import { esc } from './escape.ts';

function figure(id: string, svg: string, caption: string): string {
  return `<figure class="plot" id="${id}">${svg}<figcaption>${caption}</figcaption></figure>`;
}

/** Error against ε, one facet per method × gradient; with a single ε, a note saying how to get one. */
export async function curvesSection(rows: ReportRow[], combinations: Combinations): Promise<string> {
  const spec = curvesSpec(rows, combinations);
  const eps = esc(epsLabels(rows).join(', '));
  return spec
    ? figure('plot-curves', await renderSvg(spec), `Error rate against the attack's budget ε for each method and gradient, one line per clean-confidence bucket; the bands are 95% Wilson intervals. ε values: ${eps}.`)
    : `<p class="note">This pipeline attacks at a single ε (${eps}), so there is no curve to draw: list several values in <code>attacks[].eps</code> (as <code>pipelines/full.json</code> does) to see how the error grows with ε.</p>`;
}

/** The clean confidence of the correctly classified images, by bucket, with the cut-offs. */
export async function confidenceSection(s: ReportSummary, figures: FigureData): Promise<string> {
  const correct = figures.correctConfidences.length;
  return figure(
    'plot-histogram',
    await renderSvg(histogramSpec(figures.correctConfidences, s.setup.buckets.thresholds)),
    `Clean confidence (top-1 softmax probability) of the ${formatCount(correct)} correctly classified images among the ${formatCount(correct + figures.incorrect)} evaluated (the ${formatCount(figures.incorrect)} misclassified ones are not bucketed), coloured by bucket; dashed lines are the cut-offs. Bucket rule: ${esc(ruleText(s))} ${s.setup.buckets.perBucket} images were then sampled from each bucket.`,
  );
}

/** The true label's mean probability before and after each attack, per bucket; combinations in `order`. */
export async function shiftSection(rows: ReportRow[], order: string[], combinations: Combinations): Promise<string> {
  return figure(
    'plot-shift',
    await renderSvg(shiftSpec(rows, order, combinations)),
    'Mean probability of the true label before the attack (grey circle; equal to the clean confidence, since every image was classified correctly) and after it (red diamond), per combination and bucket. A long line is an attack that drains confidence even when it does not flip the top-1 class.',
  );
}
