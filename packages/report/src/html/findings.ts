/** Section 2 of report.html: the paper's four findings, one card each with every comparison behind its verdict. */
import type { Finding, ReportSummary } from '@gradsign/core';
import { comparisonStatus, detectableText, rawStatus, VERDICT_RULE, type Comparison } from '../findings.ts';
import { formatP, formatPct, formatShare } from '../format.ts';
import { esc } from './escape.ts';

/** What the paper says behind each finding (§5 Results), quoted. */
export const PAPER_QUOTES: Record<number, string> = {
  1: 'the addition of noise in small steps in many iterations is also more efficient, as the direction of the gradient is optimized by a small factor on each step',
  2: 'Least Likely methods had a lower overall impact into the image, resulting into lower error rates',
  3: 'the higher the confidence, the less likely it is to generate a successful adversarial',
  4: 'it might be more difficult to completely remove the image from the top-5 predictions',
};

const GLYPH: Record<string, string> = { holds: '✔', 'does not hold': '✘', 'not significant': '≈' };

/** A verdict as a CSS class: "does not hold" → "does-not-hold". */
function verdictClass(s: string): string {
  return s.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
}

/** One comparison as a table row: its two rates, raw and Holm-adjusted p, and where it stands. */
function comparisonRow(c: Comparison): string {
  const status = comparisonStatus(c);
  const onlyBeforeHolm = status === 'noise' && rawStatus(c) !== 'noise' ? ' (p < 0.05 before Holm)' : '';
  const word = status === 'supports' ? 'as claimed' : status === 'contradicts' ? 'against' : `${c.higher < c.lower ? 'against, noise' : 'noise'}${onlyBeforeHolm}`;
  return `<tr class="${status}"><td>${esc(c.label)}</td><td>${formatPct(c.higher)}</td><td>${formatPct(c.lower)}</td><td>${formatP(c.p)}</td><td>${formatP(c.pHolm)}</td><td>${esc(word)}</td></tr>`;
}

function findingCard(f: Finding, list: Comparison[]): string {
  const sameNoise = f.comparisons - f.supporting - f.contradicting - f.againstNotSignificant;
  const seg = (cls: string, n: number) => (n > 0 && f.comparisons > 0 ? `<span class="${cls}" style="width:${formatShare(n, f.comparisons)}"></span>` : '');
  const count = (color: string, n: number, what: string, raw?: number) =>
    `<span><i class="sw" style="background:${color}"></i><b>${n}</b> ${what}${raw === undefined ? '' : ` <small>(${raw} before Holm)</small>`}</span>`;
  const quote = PAPER_QUOTES[f.id];
  const mdd = f.minimumDetectableDifference;
  return `<article class="finding ${verdictClass(f.verdict)}" data-finding="${f.id}" data-verdict="${esc(f.verdict)}">
<span class="badge ${verdictClass(f.verdict)}">${GLYPH[f.verdict] ?? ''} ${esc(f.verdict)}</span>
<h3>${f.id}. ${esc(f.claim)}</h3>
${quote ? `<p class="claim">The paper (§5): “${esc(quote)}.”</p>` : ''}
<p class="claim">Test: ${esc(f.test)}; Holm–Bonferroni over this finding's ${f.comparisons} comparisons, family-wise α = ${f.alpha}.</p>
<div class="bar" role="img" aria-label="${f.supporting} supporting, ${sameNoise} same direction within noise, ${f.againstNotSignificant} against within noise, ${f.contradicting} significantly against, after Holm">${seg('supports', f.supporting)}${seg('noise', sameNoise)}${seg('against', f.againstNotSignificant)}${seg('contradicts', f.contradicting)}</div>
<p class="counts" data-supporting="${f.supporting}" data-supporting-raw="${f.supportingRaw}" data-contradicting="${f.contradicting}" data-contradicting-raw="${f.contradictingRaw}"><span><b>${f.comparisons}</b> comparisons, after Holm:</span>${count('#1a7f37', f.supporting, 'significantly as claimed', f.supportingRaw)}${count('#c9d1d9', sameNoise, 'as claimed, within noise')}${count('#f0a5a5', f.againstNotSignificant, 'against, within noise')}${count('#cf222e', f.contradicting, 'significantly against', f.contradictingRaw)}</p>
${mdd ? `<p class="power" data-mdd="${mdd.value ?? ''}">${esc(detectableText(f))}</p>` : ''}
<p class="note">${esc(f.detail)}.</p>
${list.length ? `<details><summary>all ${list.length} comparisons</summary><div class="scroll"><table class="cmp"><thead><tr><th>comparison</th><th>claimed higher</th><th>other</th><th>raw p</th><th>Holm p</th><th></th></tr></thead><tbody>${list.map(comparisonRow).join('')}</tbody></table></div></details>` : ''}
</article>`;
}

/** The section: how verdicts are reached, then one card per finding. */
export function findingsSection(s: ReportSummary, comparisons: Comparison[][]): string {
  const cards = s.findings.map((f, i) => findingCard(f, comparisons[i] ?? []));
  return `<p class="note">${esc(VERDICT_RULE)} Paired comparisons (same images) use the exact McNemar test,
comparisons between buckets (different images) a two-proportion z-test. Each card also gives the smallest difference its test
detects with 80% power at this bucket size: where a finding is not significant, a difference under that size cannot be told from noise.</p>
<div class="findings">${cards.join('\n')}</div>`;
}
