/** Section 1 of report.html: the Table 1 analog, each of our rows beside the paper's, shaded by error rate. */
import { BUCKETS, type ReportSummary } from '@gradsign/core';
import { cellTexts, combinationLabel, formatEps, formatPct, methodLabel, type Combinations } from '../format.ts';
import { paperCell, paperName } from '../paper.ts';
import { tableGroups } from '../rows.ts';
import { esc } from './escape.ts';
import { shade } from './shade.ts';

/** The section: what a cell means, the colour legend, the table, and the setup it was measured on. */
export function table1Section(s: ReportSummary, combinations: Combinations): string {
  return `<p>Each cell is the share of a bucket's images the attack fooled: <b>top-1 error</b> (the adversarial image's top class is not the true label) and <b>top-5 error</b> (the true label is not among its top five), with its 95% Wilson interval and the difference from the paper's cell in percentage points (ours − paper). Every image was classified correctly before the attack, so the clean error is 0 everywhere. The paper does not state its ε, so its row (italic, hatched) is compared with each of our ε.</p>
<div class="legend"><span>error</span><span>0%</span><span class="ramp"></span><span>100%</span><span>·</span><span>Δ in <span style="color:#8a1c1c">red</span>: fooled more often than in the paper, <span style="color:#0b4f8a">blue</span>: less often</span></div>
${table1(s, combinations)}
<p class="note">${esc(s.setup.buckets.perBucket)} images per bucket here; the paper used 500 per bucket with Inception V3 on ImageNet (1,000 classes), we use ${esc(s.setup.model)} on ${esc(s.setup.dataset)} (${s.setup.numClasses} classes). Downloads: <a href="summary.json">summary.json</a>, <a href="table.csv">table.csv</a>, <a href="report.md">report.md</a>.</p>`;
}

function table1(s: ReportSummary, combinations: Combinations): string {
  const head = `<thead><tr><th rowspan="2">Method</th><th rowspan="2">Gradient</th><th rowspan="2">ε</th>${BUCKETS.map(
    (b) => `<th colspan="2" class="bucket-head ${b}">${b} confidence</th>`,
  ).join('')}</tr><tr>${BUCKETS.map(() => '<th>top-1</th><th>top-5</th>').join('')}</tr></thead>`;
  const bodies = tableGroups(s.rows).map((g) => {
    const paper = paperCell(g.method, g.gradient);
    const span = g.combos.length + (paper ? 1 : 0);
    const label = `<th rowspan="${span}">${esc(methodLabel(g.method))}</th><th rowspan="${span}">${esc(g.gradient)}</th>`;
    const lines: string[] = [];
    if (paper) {
      const cells = BUCKETS.flatMap((b) =>
        (['top1', 'top5'] as const).map((m) => {
          const v = paper[b][m];
          const { background, dark } = shade(v);
          return `<td class="cell${dark ? ' dark' : ''}" style="background-color:${background}" data-paper="${esc(`${paperName(g.method)}|${g.gradient}`)}" data-bucket="${b}" data-metric="${m}"><span class="v">${formatPct(v)}</span><span class="ci">paper</span></td>`;
        }),
      ).join('');
      lines.push(`<tr class="paper">${label}<td class="eps" title="The paper does not state its ε">paper</td>${cells}</tr>`);
    }
    g.combos.forEach(({ combo: first, cells: byBucket }, i) => {
      const cells = BUCKETS.flatMap((b) =>
        (['top1', 'top5'] as const).map((m) => {
          const r = byBucket.get(b);
          if (!r) return `<td class="cell empty" data-combination="${esc(first.combination)}" data-bucket="${b}" data-metric="${m}">–</td>`;
          const p = paper?.[b][m];
          const t = cellTexts(r, m, p);
          const value = m === 'top1' ? r.top1Error : r.top5Error;
          const errors = m === 'top1' ? r.top1Errors : r.top5Errors;
          const { background, dark } = shade(value);
          const dir = p === undefined ? '' : value > p ? ' up' : value < p ? ' down' : '';
          const title = `${combinationLabel(combinations.get(r.combination)!)}, ${b} bucket, ${m === 'top1' ? 'top-1' : 'top-5'}: ${errors} of ${r.n} images misclassified; 95% Wilson interval ${t.interval}${p === undefined ? '' : `; paper ${formatPct(p)}`}`;
          return (
            `<td class="cell${dark ? ' dark' : ''}" style="background-color:${background}" data-combination="${esc(r.combination)}" data-bucket="${b}" data-metric="${m}" title="${esc(title)}">` +
            `<span class="v">${t.value}</span><span class="ci">${t.interval}</span>` +
            (t.delta === null ? '' : `<span class="d${dir}">${t.delta}</span>`) +
            `</td>`
          );
        }),
      ).join('');
      lines.push(`<tr class="ours" data-combination="${esc(first.combination)}">${!paper && i === 0 ? label : ''}<td class="eps">${esc(formatEps(first.eps, first.norm))}</td>${cells}</tr>`);
    });
    return `<tbody>${lines.join('')}</tbody>`;
  });
  return `<div class="scroll"><table class="t1" id="table1">${head}${bodies.join('')}</table></div>`;
}
