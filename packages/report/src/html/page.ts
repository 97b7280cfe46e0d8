/**
 * report.html: one self-contained page (inline CSS, inline SVG plots, data: URI images, no script,
 * no network) with the Table 1 analog beside the paper's, the findings, the plots, example images
 * and the run's facts. Deterministic: the same artifacts give the same bytes (no times, no dates,
 * no absolute paths). This module is the page's skeleton; each section is rendered by its own module.
 */
import type { PipelineConfig, ReportSummary } from '@gradsign/core';
import type { Comparison } from '../findings.ts';
import { epsLabels, formatPct, type Combinations } from '../format.ts';
import type { FigureData } from '../gather.ts';
import type { ImageShape } from '../images.ts';
import { combinationRows, tableOrder } from '../rows.ts';
import { diagnosticsSection } from './diagnostics.ts';
import { esc } from './escape.ts';
import { examplesSection } from './examples.ts';
import { factsSection } from './facts.ts';
import { findingsSection } from './findings.ts';
import { confidenceSection, curvesSection, shiftSection } from './plots.ts';
import { CSS } from './style.ts';
import { table1Section } from './table1.ts';

export interface HtmlInput {
  summary: ReportSummary;
  /** The resolved pipeline config (shown on the page, and its description). */
  pipeline: PipelineConfig;
  /** The rows' attacks by combination id. */
  combinations: Combinations;
  /** Per finding (same order as summary.findings), the comparisons behind its verdict. */
  comparisons: Comparison[][];
  figures: FigureData;
  image: ImageShape;
}

/** Renders the whole page. */
export async function renderHtml(input: HtmlInput): Promise<string> {
  const { summary: s, pipeline, combinations, figures, image } = input;
  const combos = combinationRows(s.rows);
  const epsAll = epsLabels(s.rows);
  // The plots first, in this order, then the examples (as the page always has).
  const curves = await curvesSection(s.rows, combinations);
  const confidence = await confidenceSection(s, figures);
  const shift = await shiftSection(s.rows, tableOrder(s.rows).map((c) => c.combination), combinations);
  const examples = await examplesSection(s, figures, image, combinations);

  /** id, title, body. */
  const sections: [string, string, string][] = [
    ['table', 'Error rates: the Table 1 analog', table1Section(s, combinations)],
    ['findings', "The paper's findings on this run", findingsSection(s, input.comparisons)],
    ['gradients', 'Gradient diagnostics', diagnosticsSection(s, combinations)],
    ['curves', 'Error against ε', curves],
    ['confidence', 'Clean confidence and the buckets', confidence],
    ['shift', 'Confidence shift', shift],
    ['examples', 'Examples', examples],
    ['run', 'Run facts', factsSection(s, pipeline, image)],
  ];

  const chips = [
    esc(s.setup.dataset),
    `model test accuracy ${s.setup.modelAccuracy === null ? 'n/a' : formatPct(s.setup.modelAccuracy)}`,
    `${s.setup.images} images (${s.setup.buckets.perBucket} per bucket, ${esc(s.setup.buckets.rule)} rule)`,
    `${combos.length} attack combinations`,
    `ε ${esc(epsAll.join(', '))}`,
    `backend ${esc(s.setup.backend)}`,
    `seed ${s.setup.seed}`,
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gradsign report — ${esc(s.pipeline)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><div class="wrap">
<h1>gradsign report — pipeline <code>${esc(s.pipeline)}</code></h1>
<p class="lede">How well gradient-sign adversarial attacks — fast (FGSM) and iterative (BIM), with the inverse and least-likely gradients — fool an image classifier, by the classifier's clean confidence: a reproduction of Table 1 of Possas, “Effectiveness of adversarial example generation methods in image recognition deep learning framework”.${pipeline.description ? ` ${esc(pipeline.description)}` : ''}</p>
<ul class="chips">${chips.map((c) => `<li>${c}</li>`).join('')}</ul>
</div></header>
<nav class="toc" aria-label="Contents"><div class="wrap"><ol>${sections.map(([id, title]) => `<li><a href="#${id}">${esc(title)}</a></li>`).join('')}</ol></div></nav>
<main class="wrap">
${sections.map(([id, title, body], i) => `<section id="${id}">\n<h2>${i + 1}. ${esc(title)}</h2>\n${body}\n</section>`).join('\n')}
</main>
<footer class="wrap">Written by gradsign's report stage from <code>artifacts/${esc(s.pipeline)}</code>; the same artifacts always give this same file. The paper's numbers: Possas, Table 1 (Inception V3, ImageNet, 500 images per bucket).</footer>
</body>
</html>
`;
}
