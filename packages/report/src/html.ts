/**
 * report.html: one self-contained page (inline CSS, inline SVG plots, data: URI images, no script,
 * no network) with the Table 1 analog beside the paper's, the findings, the plots, example images
 * and the run's facts. Deterministic: the same artifacts give the same bytes (no times, no dates,
 * no absolute paths).
 */
import { BUCKETS, type BucketName, type Finding, type PipelineConfig, type ReportRow, type ReportSummary } from '@gradsign/core';
import type { Comparison } from './findings.ts';
import { comparisonStatus, detectableText, rawStatus, VERDICT_RULE } from './findings.ts';
import {
  cellTexts,
  combinationLabel,
  formatCount,
  formatEps,
  formatNumber,
  formatP,
  formatPct,
  formatProb,
  formatShare,
  methodLabel,
  seriesLabel,
  type Combinations,
} from './format.ts';
import type { ExampleAttack, ExampleImage, FigureData } from './gather.ts';
import { displayOptions, encodePng, perturbationBytes, pngDataUri, pngSize, toBytes } from './images.ts';
import { paperCell, paperName } from './paper.ts';
import { DIAGNOSTICS_HEADER, diagnosticsCells, diagnosticsSummary, flagReasons, PGD_SHARE_TOLERANCE } from './diagnostics.ts';
import { combinationRows, tableGroups, tableOrder } from './rows.ts';
import { BUCKET_COLORS, curvesSpec, histogramSpec, renderSvg, shiftSpec } from './plots.ts';

export interface HtmlInput {
  summary: ReportSummary;
  /** The resolved pipeline config (shown on the page, and its description). */
  pipeline: PipelineConfig;
  /** The rows' attacks by combination id. */
  combinations: Combinations;
  /** Per finding (same order as summary.findings), the comparisons behind its verdict. */
  comparisons: Comparison[][];
  figures: FigureData;
  image: { height: number; width: number; channels: number };
}

/** Escapes text for HTML element content and attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

// ColorBrewer "Reds", 0 → 100% error.
const RAMP: [number, [number, number, number]][] = [
  [0, [255, 245, 240]],
  [0.25, [252, 187, 161]],
  [0.5, [251, 106, 74]],
  [0.75, [203, 24, 29]],
  [1, [103, 0, 13]],
];

/** Background for an error rate, and whether text on it should be light. */
export function shade(error: number): { background: string; dark: boolean } {
  const e = Math.min(1, Math.max(0, error));
  let i = 0;
  while (i < RAMP.length - 2 && e > RAMP[i + 1]![0]) i++;
  const [a, ca] = RAMP[i]!;
  const [b, cb] = RAMP[i + 1]!;
  const t = (e - a) / (b - a);
  const rgb = ca.map((v, k) => Math.round(v + (cb[k]! - v) * t));
  return { background: `rgb(${rgb.join(',')})`, dark: e > 0.62 };
}

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#0969da;--low:${BUCKET_COLORS.low};--medium:${BUCKET_COLORS.medium};--high:${BUCKET_COLORS.high}}
*{box-sizing:border-box}
html{scroll-behavior:smooth}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:1180px;margin:0 auto;padding:0 28px}
header.top{background:var(--soft);border-bottom:1px solid var(--line);padding:26px 0 18px}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:650;letter-spacing:-.01em}
header.top h1 code{font-size:.85em;background:#fff;border:1px solid var(--line);border-radius:6px;padding:1px 7px}
.lede{margin:4px 0 12px;color:var(--muted);max-width:70em}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:0;padding:0;list-style:none}
.chips li{background:#fff;border:1px solid var(--line);border-radius:999px;padding:2px 11px;font-size:13px}
nav.toc{border-bottom:1px solid var(--line);background:#fff;position:sticky;top:0;z-index:5}
nav.toc ol{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0;padding:9px 0;list-style:none;counter-reset:toc}
nav.toc li{counter-increment:toc;font-size:14px}
nav.toc li::before{content:counter(toc) ". ";color:var(--muted)}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
section{padding:22px 0 8px;border-bottom:1px solid #eef0f2;scroll-margin-top:44px}
h2{font-size:21px;margin:0 0 10px;font-weight:650}
h3{font-size:16px;margin:18px 0 8px;font-weight:650}
p{margin:8px 0;max-width:75em}
.note{color:var(--muted);font-size:13.5px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:12px 14px;overflow:auto}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.t1{margin:10px 0 6px}
table.t1 th,table.t1 td{border:1px solid #fff;padding:4px 8px}
table.t1 thead th{background:var(--soft);font-weight:600;font-size:13px;text-align:center;border-color:var(--line)}
table.t1 tbody th{text-align:left;font-weight:600;font-size:13.5px;background:#fff;border-color:#eef0f2;white-space:nowrap;vertical-align:top}
table.t1 tbody + tbody{border-top:3px solid #fff}
table.t1 td.eps{text-align:right;white-space:nowrap;font-size:13px;background:#fff;border-color:#eef0f2}
table.t1 td.cell{min-width:98px;text-align:right;line-height:1.2}
table.t1 .v{display:block;font-weight:650;font-size:15px}
table.t1 .ci,table.t1 .d{display:block;font-size:11px;color:#444}
table.t1 td.dark,table.t1 td.dark .ci,table.t1 td.dark .d{color:#fff}
table.t1 tr.paper td.cell{font-style:italic;opacity:.92;background-image:repeating-linear-gradient(135deg,rgba(255,255,255,.0) 0 6px,rgba(255,255,255,.28) 6px 8px)}
table.t1 tr.paper td.eps{font-style:italic;color:var(--muted)}
table.t1 .d.up{color:#8a1c1c}table.t1 .d.down{color:#0b4f8a}
table.t1 td.dark .d.up,table.t1 td.dark .d.down{color:#fff}
.bucket-head.low{box-shadow:inset 0 -3px 0 var(--low)}.bucket-head.medium{box-shadow:inset 0 -3px 0 var(--medium)}.bucket-head.high{box-shadow:inset 0 -3px 0 var(--high)}
.legend{display:flex;align-items:center;gap:10px;font-size:12.5px;color:var(--muted);flex-wrap:wrap}
.ramp{width:180px;height:10px;border-radius:2px;background:linear-gradient(90deg,${RAMP.map(([at, c]) => `rgb(${c.join(',')}) ${at * 100}%`).join(',')})}
.findings{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
.finding{border:1px solid var(--line);border-radius:8px;padding:12px 16px;background:#fff}
.finding h3{margin:2px 0 4px;font-size:15.5px}
.badge{display:inline-block;font-size:12px;font-weight:700;letter-spacing:.02em;text-transform:uppercase;border-radius:4px;padding:1px 8px;color:#fff}
.badge.holds{background:#1a7f37}.badge.does-not-hold{background:#cf222e}.badge.not-significant{background:#6e7781}
.finding.holds{border-left:5px solid #1a7f37}.finding.does-not-hold{border-left:5px solid #cf222e}.finding.not-significant{border-left:5px solid #6e7781}
.finding .claim{font-size:13px;color:var(--muted);margin:2px 0 4px}
.bar{display:flex;height:12px;border-radius:3px;overflow:hidden;background:#eee;margin:6px 0 4px}
.bar span{display:block;height:100%}
.bar .supports{background:#1a7f37}.bar .noise{background:#c9d1d9}.bar .against{background:#f0a5a5}.bar .contradicts{background:#cf222e}
.counts{font-size:13px;margin:0 0 6px;display:flex;flex-wrap:wrap;gap:2px 12px}
.counts span{white-space:nowrap}
.counts b{font-variant-numeric:tabular-nums}
.counts small{color:var(--muted)}
.finding .power{font-size:13px;margin:2px 0 6px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
details{margin:6px 0}
summary{cursor:pointer;color:var(--accent);font-size:13px}
table.cmp{font-size:12.5px;margin-top:6px}
table.cmp th,table.cmp td{padding:2px 8px;border-bottom:1px solid #eef0f2;text-align:right}
table.cmp th:first-child,table.cmp td:first-child{text-align:left}
table.cmp tr.flagged td{background:#fff4e5}table.cmp.diagnostics td:last-child{text-align:left;color:#9a6700}
table.cmp tr.supports td:last-child{color:#1a7f37;font-weight:600}table.cmp tr.contradicts td:last-child{color:#cf222e;font-weight:600}
figure.plot{margin:12px 0 6px}
figure.plot svg{max-width:100%;height:auto;display:block}
figcaption{font-size:13.5px;color:var(--muted);margin-top:6px;max-width:75em}
.ex-bucket{margin:16px 0 4px;display:flex;align-items:baseline;gap:10px}
.ex-bucket h3{margin:0}
.dot{display:inline-block;width:11px;height:11px;border-radius:50%}
.example{display:grid;grid-template-columns:150px 1fr;gap:14px;padding:10px 0;border-top:1px solid #eef0f2}
.clean{font-size:12.5px}
.clean img,.card img{display:block;image-rendering:pixelated;border:1px solid var(--line);background:#fff}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(188px,1fr));gap:8px}
.card{border:1px solid #eef0f2;border-radius:6px;padding:6px 8px;font-size:12px;background:#fff}
.card .imgs{display:flex;gap:6px}
.card .combo{margin-bottom:4px;line-height:1.3}
.card .combo .series{display:block;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.card .combo .small{display:block}
.pred{margin-top:3px}
.pred.fooled{color:#cf222e}.pred.held{color:#1a7f37}
.small{font-size:11.5px;color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:8px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
footer{color:var(--muted);font-size:13px;padding:18px 0 36px}
@media (max-width:700px){.findings{grid-template-columns:1fr}.example{grid-template-columns:1fr}}
@media print{nav.toc{position:static}}
`;

/** What the paper says behind each finding (§5 Results), quoted. */
export const PAPER_QUOTES: Record<number, string> = {
  1: 'the addition of noise in small steps in many iterations is also more efficient, as the direction of the gradient is optimized by a small factor on each step',
  2: 'Least Likely methods had a lower overall impact into the image, resulting into lower error rates',
  3: 'the higher the confidence, the less likely it is to generate a successful adversarial',
  4: 'it might be more difficult to completely remove the image from the top-5 predictions',
};

const GLYPH: Record<string, string> = { holds: '✔', 'does not hold': '✘', 'not significant': '≈' };

function className(s: string): string {
  return s.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
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
  return `<article class="finding ${className(f.verdict)}" data-finding="${f.id}" data-verdict="${esc(f.verdict)}">
<span class="badge ${className(f.verdict)}">${GLYPH[f.verdict] ?? ''} ${esc(f.verdict)}</span>
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

function findingsHtml(s: ReportSummary, comparisons: Comparison[][]): string {
  const cards = s.findings.map((f, i) => findingCard(f, comparisons[i] ?? []));
  return `<p class="note">${esc(VERDICT_RULE)} Paired comparisons (same images) use the exact McNemar test,
comparisons between buckets (different images) a two-proportion z-test. Each card also gives the smallest difference its test
detects with 80% power at this bucket size: where a finding is not significant, a difference under that size cannot be told from noise.</p>
<div class="findings">${cards.join('\n')}</div>`;
}

async function examplesHtml(input: HtmlInput): Promise<string> {
  const { summary: s, figures, image } = input;
  const name = (k: number) => s.setup.classNames[k] ?? `class ${k}`;
  const opts = displayOptions(image.height, image.width);
  const png = async (bytes: Uint8Array) => {
    const buf = await encodePng(bytes, image.height, image.width, image.channels, opts);
    const { width, height } = pngSize(buf);
    return { src: pngDataUri(buf), width, height };
  };
  const img = (p: { src: string; width: number; height: number }, alt: string) =>
    `<img src="${p.src}" width="${p.width}" height="${p.height}" alt="${esc(alt)}" title="${esc(alt)}">`;
  const order = tableOrder(s.rows);
  const blocks: string[] = [];
  for (const bucket of BUCKETS) {
    const mine = figures.examples.filter((e) => e.bucket === bucket);
    blocks.push(
      `<div class="ex-bucket"><span class="dot" style="background:${BUCKET_COLORS[bucket]}"></span><h3>${bucket} confidence</h3><span class="note">${esc(bucketRange(s, bucket))}</span></div>`,
    );
    if (mine.length === 0) blocks.push('<p class="note">No images in this bucket.</p>');
    for (const ex of mine) {
      const clean = await png(ex.pixels);
      const cards: string[] = [];
      for (const c of order) {
        const a = figures.attacks.get(c.combination)?.get(ex.id);
        const label = combinationLabel(input.combinations.get(c.combination)!);
        cards.push(a ? await card(c, ex, a) : `<div class="card"><div class="combo" title="${esc(label)}">${esc(label)}</div><p class="small">not attacked</p></div>`);
      }
      blocks.push(`<div class="example" data-image="${ex.id}">
<div class="clean">${img(clean, `clean image ${ex.id}: ${name(ex.label)}`)}<div><b>${esc(name(ex.label))}</b></div><div>clean confidence ${formatProb(ex.confidence, 3)}</div><div class="small">image #${ex.id}</div></div>
<div class="cards">${cards.join('')}</div>
</div>`);
    }
  }
  return blocks.join('\n');

  async function card(c: ReportRow, ex: ExampleImage, a: ExampleAttack): Promise<string> {
    const adv = await png(toBytes(a.pixels));
    const pert = await png(perturbationBytes(a.pixels, ex.pixels, c.norm === 'linf' ? c.eps : undefined));
    const top = a.top5[0];
    const fooled = top !== ex.label;
    const top5 = a.top5.map((k, i) => `${name(k)} ${formatProb(a.top5Prob[i] ?? Number.NaN)}`).join(', ');
    const target = a.target === ex.label || a.target < 0 ? '' : ` · target ${esc(name(a.target))}`;
    return `<div class="card" data-combination="${esc(c.combination)}" title="${esc(`top-5: ${top5}`)}">
<div class="combo" title="${esc(combinationLabel(input.combinations.get(c.combination)!))}"><span class="series">${esc(seriesLabel(input.combinations.get(c.combination)!))}</span><span class="small">ε ${esc(formatEps(c.eps, c.norm))}</span></div>
<div class="imgs">${img(adv, `adversarial image ${ex.id}, ${c.combination}`)}${img(pert, `perturbation of image ${ex.id}, ${c.combination}, amplified`)}</div>
<div class="pred ${fooled ? 'fooled' : 'held'}">${fooled ? '✘' : '✔'} <b>${top === undefined ? '?' : esc(name(top))}</b> ${formatProb(a.top5Prob[0] ?? Number.NaN)}</div>
<div class="small">P(${esc(name(ex.label))}) ${formatProb(a.adversarialTrueProb)}${target}</div>
</div>`;
  }
}

function bucketRange(s: ReportSummary, bucket: BucketName): string {
  const t = s.setup.buckets.thresholds;
  if (bucket === 'high') return `clean confidence ≥ ${formatNumber(t.high)}`;
  if (bucket === 'medium') return `${formatNumber(t.medium)} ≤ clean confidence < ${formatNumber(t.high)}`;
  return `clean confidence < ${formatNumber(t.medium)}`;
}

function ruleText(s: ReportSummary): string {
  const t = s.setup.buckets.thresholds;
  return s.setup.buckets.rule === 'quantile'
    ? `quantile rule: the cut-offs are the terciles of the correctly classified images' clean confidence (medium ≥ ${formatNumber(t.medium)}, high ≥ ${formatNumber(t.high)}), so each bucket holds about a third of them. The paper's fixed thresholds (0.15 and 0.30, for 1,000 ImageNet classes) would leave almost nothing in the low and medium buckets of a 10-class model.`
    : `the paper's fixed thresholds: low < ${formatNumber(t.medium)} ≤ medium < ${formatNumber(t.high)} ≤ high.`;
}

/** "ε 4/255: 5 steps of α 1/255; …" for the multi-step combinations, one entry per distinct setting. */
function iterativeSteps(combos: ReportRow[]): string {
  const multi = combos.filter((c) => c.steps > 1);
  if (multi.length === 0) return '–';
  const settings = new Map<string, string[]>();
  for (const c of multi) {
    const key = `ε ${formatEps(c.eps, c.norm)}: ${c.steps} steps of α ${formatEps(c.alpha, c.norm)}`;
    settings.set(key, [...(settings.get(key) ?? []), c.method.toUpperCase()]);
  }
  return [...settings].map(([k, methods]) => `${esc(k)} (${esc([...new Set(methods)].join(', '))})`).join('; ');
}

/** Where attack gradients were zero, per combination × bucket; flagged rows are marked. */
function diagnosticsHtml(s: ReportSummary, combinations: Combinations): string {
  const flagged = new Set(s.gradientDiagnostics.flags.map((f) => `${f.combination}|${f.bucket}`));
  const body = s.rows
    .map((r) => {
      const flag = flagged.has(`${r.combination}|${r.bucket}`);
      const cells = diagnosticsCells(r, combinations).map((c, i) => (i < 2 ? `<td>${esc(c)}</td>` : `<td class="num">${esc(c)}</td>`));
      return `<tr${flag ? ' class="flagged"' : ''} data-combination="${esc(r.combination)}" data-bucket="${r.bucket}">${cells.join('')}<td>${flag ? '⚠ ' + esc(flagReasons(r).join('; ')) : ''}</td></tr>`;
    })
    .join('');
  return `<p>${esc(diagnosticsSummary(s))}</p>
<p class="note">ReLU and max-pool networks have exact zero gradients: a pixel whose every path to the output passes a ReLU that is off has none for any loss. The <b>structural zeros</b> are those of the clean image for a random output direction; a cell is flagged when an image's first-step gradient is zero everywhere, or has zeros beyond the structural ones (for PGD, whose first step is at a random start: a share more than ${formatPct(PGD_SHARE_TOLERANCE)} above).</p>
<details${s.gradientDiagnostics.flags.length ? ' open' : ''}><summary>per combination and bucket</summary><div class="scroll"><table class="cmp diagnostics" id="gradient-diagnostics"><thead><tr>${[...DIAGNOSTICS_HEADER, 'flag'].map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table></div></details>`;
}

function factsHtml(input: HtmlInput): string {
  const { summary: s, pipeline } = input;
  const combos = combinationRows(s.rows).map((c) => c.combo);
  const q = s.setup.buckets.qualified;
  const facts: [string, string][] = [
    ['Pipeline', `<code>${esc(s.pipeline)}</code>`],
    ['Dataset', `${esc(s.setup.dataset)}${s.setup.preset ? ` (preprocessing preset <code>${esc(s.setup.preset)}</code>)` : ''}; input ${input.image.height}×${input.image.width}×${input.image.channels}` +
      (s.setup.rejected ? `; ${s.setup.rejected} source file(s) rejected as unreadable (preprocess/rejects.json)` : '')],
    ['Model', `${esc(s.setup.model)}; test accuracy ${s.setup.modelAccuracy === null ? 'n/a' : formatPct(s.setup.modelAccuracy)}`],
    ['Clean accuracy', `top-1 ${formatPct(s.setup.cleanAccuracy.top1)}, top-5 ${formatPct(s.setup.cleanAccuracy.top5)} on ${formatCount(s.setup.cleanAccuracy.n)} evaluated images`],
    ['Classes', `${s.setup.numClasses}: ${s.setup.classNames.map((c, i) => `${i} ${esc(c)}`).join(', ')}`],
    ['Buckets', `${esc(ruleText(s))}`],
    ['Sampled', `${s.setup.buckets.perBucket} correctly classified images per bucket (seeded), ${s.setup.images} in all; qualified: low ${q.low ?? 0}, medium ${q.medium ?? 0}, high ${q.high ?? 0}`],
    ['Attacks', `${combos.length} combinations: ${combos.map((c) => `<code>${esc(c.combination)}</code>`).join(', ')}`],
    ['Iterative steps', iterativeSteps(combos)],
    ['Evaluation', s.setup.quantize ? 'adversarial images rounded to 8 bits (as a PNG would store them) before classification' : 'adversarial images classified as float32'],
    ['Backend', `<code>${esc(s.setup.backend)}</code> (tfjs)`],
    ['Seed', String(s.setup.seed)],
  ];
  return `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
<h3>Pipeline configuration</h3>
<p class="note">The resolved <code>pipelines/${esc(s.pipeline)}.json</code>, defaults filled in.</p>
<pre>${esc(prettyJson(pipeline))}</pre>`;
}

/** JSON with two-space indents, arrays of plain values on one line. */
export function prettyJson(value: unknown, indent = ''): string {
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    return `[\n${value.map((v) => inner + prettyJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** Renders the whole page. */
export async function renderHtml(input: HtmlInput): Promise<string> {
  const { summary: s, pipeline, figures } = input;
  const combos = combinationRows(s.rows).map((c) => c.combo);
  const order = tableOrder(s.rows).map((c) => c.combination);
  const epsAll = [...new Set(combos.map((c) => formatEps(c.eps, c.norm)))];

  const curves = curvesSpec(s.rows, input.combinations);
  const curvesSvg = curves ? await renderSvg(curves) : null;
  const histSvg = await renderSvg(histogramSpec(figures.correctConfidences, s.setup.buckets.thresholds));
  const shiftSvg = await renderSvg(shiftSpec(s.rows, order, input.combinations));
  const plot = (id: string, svg: string, caption: string) => `<figure class="plot" id="${id}">${svg}<figcaption>${caption}</figcaption></figure>`;

  const sections: [string, string, string][] = [
    [
      'table',
      'Error rates: the Table 1 analog',
      `<p>Each cell is the share of a bucket's images the attack fooled: <b>top-1 error</b> (the adversarial image's top class is not the true label) and <b>top-5 error</b> (the true label is not among its top five), with its 95% Wilson interval and the difference from the paper's cell in percentage points (ours − paper). Every image was classified correctly before the attack, so the clean error is 0 everywhere. The paper does not state its ε, so its row (italic, hatched) is compared with each of our ε.</p>
<div class="legend"><span>error</span><span>0%</span><span class="ramp"></span><span>100%</span><span>·</span><span>Δ in <span style="color:#8a1c1c">red</span>: fooled more often than in the paper, <span style="color:#0b4f8a">blue</span>: less often</span></div>
${table1(s, input.combinations)}
<p class="note">${esc(s.setup.buckets.perBucket)} images per bucket here; the paper used 500 per bucket with Inception V3 on ImageNet (1,000 classes), we use ${esc(s.setup.model)} on ${esc(s.setup.dataset)} (${s.setup.numClasses} classes). Downloads: <a href="summary.json">summary.json</a>, <a href="table.csv">table.csv</a>, <a href="report.md">report.md</a>.</p>`,
    ],
    ['findings', "The paper's findings on this run", findingsHtml(s, input.comparisons)],
    ['gradients', 'Gradient diagnostics', diagnosticsHtml(s, input.combinations)],
    [
      'curves',
      'Error against ε',
      curvesSvg
        ? plot('plot-curves', curvesSvg, `Error rate against the attack's budget ε for each method and gradient, one line per clean-confidence bucket; the bands are 95% Wilson intervals. ε values: ${esc(epsAll.join(', '))}.`)
        : `<p class="note">This pipeline attacks at a single ε (${esc(epsAll.join(', '))}), so there is no curve to draw: list several values in <code>attacks[].eps</code> (as <code>pipelines/full.json</code> does) to see how the error grows with ε.</p>`,
    ],
    [
      'confidence',
      'Clean confidence and the buckets',
      plot(
        'plot-histogram',
        histSvg,
        `Clean confidence (top-1 softmax probability) of the ${formatCount(figures.correctConfidences.length)} correctly classified images among the ${formatCount(figures.correctConfidences.length + figures.incorrect)} evaluated (the ${formatCount(figures.incorrect)} misclassified ones are not bucketed), coloured by bucket; dashed lines are the cut-offs. Bucket rule: ${esc(ruleText(s))} ${s.setup.buckets.perBucket} images were then sampled from each bucket.`,
      ),
    ],
    [
      'shift',
      'Confidence shift',
      plot(
        'plot-shift',
        shiftSvg,
        'Mean probability of the true label before the attack (grey circle; equal to the clean confidence, since every image was classified correctly) and after it (red diamond), per combination and bucket. A long line is an attack that drains confidence even when it does not flip the top-1 class.',
      ),
    ],
    [
      'examples',
      'Examples',
      `<p class="note">The ${Math.max(...BUCKETS.map((b) => figures.examples.filter((e) => e.bucket === b).length))} lowest image ids of each bucket (a fixed choice), clean on the left; for each combination the adversarial image, then its perturbation amplified to be visible: (x′ − x) / (2ε) + ½, so grey is unchanged, white +ε, black −ε. Below: the adversarial top-1 class and its probability (<span style="color:#cf222e">✘ fooled</span>, <span style="color:#1a7f37">✔ still correct</span>) and the probability left on the true class. Hover a card for the top five.</p>
${await examplesHtml(input)}`,
    ],
    ['run', 'Run facts', factsHtml(input)],
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
