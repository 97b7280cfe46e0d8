/**
 * The report's plots: Vega-Lite specs compiled and rendered to SVG in Node by vega's headless View
 * (renderer "none" + toSVG(): no canvas, no DOM, no network; the data is inline).
 *
 * Text is measured with a fixed table of Helvetica advance widths instead of node-canvas (which is
 * not installed, and whose answers would depend on the machine's fonts), so the layout — and the
 * SVG text — is byte-identical on every machine. The plots name Helvetica/Arial/Liberation Sans
 * (metric-compatible faces) so the browser's glyphs match the widths the layout assumed.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { BUCKETS, type BucketName, type ReportRow } from '@gradsign/core';
import { seriesId } from '@gradsign/core';
import { combinationLabel, formatNumber, seriesLabel, type Combinations } from './format.ts';

export const PLOT_FONT = 'Helvetica, Arial, "Liberation Sans", sans-serif';

/** Bucket colours, shared by the plots and the page (Okabe–Ito: colour-blind safe). */
export const BUCKET_COLORS: Record<BucketName, string> = { low: '#D55E00', medium: '#0072B2', high: '#009E73' };

// Helvetica advance widths (AFM, 1/1000 em) for ASCII 32–126.
// prettier-ignore
const HELVETICA = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556,
  556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778,
  722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278,
  278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
  556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/** Width in px of `text` in Helvetica at `size` px; bold about 7% wider; other characters 0.6 em. */
export function textWidth(text: string, size: number, bold = false): number {
  let units = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    units += c >= 32 && c <= 126 ? HELVETICA[c - 32]! : 600;
  }
  return (units / 1000) * size * (bold ? 1.07 : 1);
}

type TextItem = { text?: unknown; fontSize?: number; fontWeight?: string | number };
const metrics = (vega as unknown as { textMetrics: unknown }).textMetrics as { width: (item: TextItem, text?: unknown) => number };
metrics.width = (item, text) => {
  const t = text ?? item.text;
  const s = Array.isArray(t) ? t.join(' ') : t == null ? '' : String(t);
  const weight = item.fontWeight;
  return textWidth(s, item.fontSize ?? 11, weight === 'bold' || (typeof weight === 'number' && weight >= 600));
};

const CONFIG = {
  font: PLOT_FONT,
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', labelColor: '#333', titleColor: '#333', gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', orient: 'top' },
  header: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal', labelColor: '#222' },
  title: { fontSize: 13, fontWeight: 'normal', anchor: 'start' },
} as const;

const bucketColor = {
  field: 'bucket',
  type: 'nominal',
  title: 'clean-confidence bucket',
  scale: { domain: [...BUCKETS], range: BUCKETS.map((b) => BUCKET_COLORS[b]) },
  sort: [...BUCKETS],
} as const;

/** Compiles a Vega-Lite spec and renders it to an SVG string, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: compiled } = vl.compile({ config: CONFIG, ...spec } as TopLevelSpec);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  try {
    // No XML declaration, so it can be inlined in HTML; role/aria attributes come from vega.
    return (await view.toSVG()).replace(/^<\?xml[^>]*>\s*/, '');
  } finally {
    view.finalize();
  }
}

/** Error rate against ε, one line per bucket with its Wilson band; a facet per method × gradient and metric. */
export function curvesSpec(rows: ReportRow[], combinations: Combinations): TopLevelSpec | null {
  const seriesOf = (r: ReportRow) => seriesId(combinations.get(r.combination)!);
  const byKey = new Map<string, Set<number>>();
  for (const r of rows) byKey.set(seriesOf(r), (byKey.get(seriesOf(r)) ?? new Set()).add(r.eps));
  const swept = new Set([...byKey].filter(([, eps]) => eps.size >= 2).map(([k]) => k));
  if (swept.size === 0) return null;
  const data = rows
    .filter((r) => swept.has(seriesOf(r)))
    .flatMap((r) =>
      (['top1', 'top5'] as const).map((m) => ({
        series: seriesLabel(combinations.get(r.combination)!),
        metric: m === 'top1' ? 'top-1 error' : 'top-5 error',
        eps: r.norm === 'linf' ? r.eps * 255 : r.eps,
        bucket: r.bucket,
        error: m === 'top1' ? r.top1Error : r.top5Error,
        low: (m === 'top1' ? r.top1ErrorCI : r.top5ErrorCI)[0],
        high: (m === 'top1' ? r.top1ErrorCI : r.top5ErrorCI)[1],
      })),
    );
  const linf = rows.every((r) => r.norm === 'linf');
  const epsValues = [...new Set(data.map((d) => d.eps))].sort((a, b) => a - b);
  const ratio = epsValues[epsValues.length - 1]! / epsValues[0]!;
  const x = {
    field: 'eps',
    type: 'quantitative',
    title: linf ? 'ε (× 1/255, log scale)' : 'ε',
    scale: ratio >= 4 ? { type: 'log', base: 2, nice: false } : { zero: false, nice: false },
    axis: { values: epsValues, format: '~g', grid: true },
  } as const;
  const y = { field: 'error', type: 'quantitative', title: null, scale: { domain: [0, 1] }, axis: { format: '.0%', tickCount: 5 } } as const;
  return {
    data: { values: data },
    facet: {
      row: { field: 'metric', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } },
      column: { field: 'series', type: 'nominal', title: null, sort: [...new Set(data.map((d) => d.series))] },
    },
    spec: {
      width: 200,
      height: 140,
      layer: [
        { mark: { type: 'area', opacity: 0.13 }, encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color: { ...bucketColor, legend: { symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 2.5 } } } },
        {
          mark: { type: 'line', point: { filled: true, size: 28 }, strokeWidth: 1.8 },
          encoding: {
            x,
            y,
            color: bucketColor,
            tooltip: [{ field: 'series' }, { field: 'bucket' }, { field: 'eps', title: 'ε×255' }, { field: 'error', format: '.1%' }],
          },
        },
      ],
    },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  } as unknown as TopLevelSpec;
}

/**
 * Histogram of the clean confidence of the correctly classified images, stacked by the bucket each
 * image falls in, with the cut-offs drawn as rules.
 */
export function histogramSpec(confidences: Float32Array | number[], thresholds: { medium: number; high: number }): TopLevelSpec {
  const bucketOf = (c: number): BucketName => (c >= thresholds.high ? 'high' : c >= thresholds.medium ? 'medium' : 'low');
  const values = Array.from(confidences, (c) => ({ confidence: c, bucket: bucketOf(c) }));
  const cuts = [
    { at: thresholds.medium, label: `medium ≥ ${formatNumber(thresholds.medium)}` },
    { at: thresholds.high, label: `high ≥ ${formatNumber(thresholds.high)}` },
  ];
  return {
    width: 760,
    height: 230,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', binSpacing: 0 },
        encoding: {
          x: {
            field: 'confidence',
            type: 'quantitative',
            bin: { extent: [0, 1], step: 0.02 },
            title: 'clean confidence (top-1 softmax probability)',
            axis: { format: '.1f', values: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], labelFlush: true },
          },
          y: { aggregate: 'count', type: 'quantitative', title: 'correctly classified images', stack: 'zero' },
          color: bucketColor,
          order: { field: 'bucket', sort: 'ascending' },
        },
      },
      {
        data: { values: cuts },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#222' },
        encoding: { x: { field: 'at', type: 'quantitative' } },
      },
      {
        data: { values: cuts },
        mark: { type: 'text', align: 'right', baseline: 'top', dx: -4, dy: 4, fontSize: 11, color: '#222' },
        encoding: { x: { field: 'at', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
      },
    ],
  } as TopLevelSpec;
}

/**
 * The confidence shift: per combination and bucket, the mean clean probability of the true label
 * (= clean confidence; every image was correct) and its mean probability on the adversarial image.
 */
export function shiftSpec(rows: ReportRow[], order: string[], combinations: Combinations): TopLevelSpec {
  const label = new Map(rows.map((r) => [r.combination, combinationLabel(combinations.get(r.combination)!)]));
  const sortLabels = order.map((id) => label.get(id)!).filter(Boolean);
  const values = rows.flatMap((r) => [
    { combination: label.get(r.combination), bucket: r.bucket, kind: 'clean', p: r.meanCleanConfidence, q: r.meanAdversarialTrueProb },
    { combination: label.get(r.combination), bucket: r.bucket, kind: 'adversarial', p: r.meanAdversarialTrueProb, q: r.meanCleanConfidence },
  ]);
  // Clean and adversarial points differ in colour and shape, one legend for both.
  const byKind = (range: string[]) => ({
    field: 'kind',
    type: 'nominal',
    title: null,
    scale: { domain: ['clean', 'adversarial'], range },
    legend: { labelExpr: "datum.label === 'clean' ? 'clean image' : 'adversarial image'" },
  });
  const y = { field: 'combination', type: 'nominal', title: null, sort: sortLabels } as const;
  const x = { field: 'p', type: 'quantitative', title: 'mean P(true label)', scale: { domain: [0, 1] }, axis: { format: '.1f', tickCount: 5 } } as const;
  return {
    data: { values },
    facet: { column: { field: 'bucket', type: 'nominal', title: 'clean-confidence bucket', sort: [...BUCKETS] } },
    spec: {
      width: 190,
      height: { step: 18 },
      layer: [
        {
          transform: [{ filter: "datum.kind === 'clean'" }],
          mark: { type: 'rule', color: '#999', strokeWidth: 1.5 },
          encoding: { y, x, x2: { field: 'q' } },
        },
        {
          mark: { type: 'point', filled: true, size: 44, opacity: 1 },
          encoding: {
            y,
            x,
            color: byKind(['#9a9a9a', '#C0392B']),
            shape: byKind(['circle', 'diamond']),
            tooltip: [{ field: 'combination' }, { field: 'bucket' }, { field: 'kind' }, { field: 'p', format: '.3f', title: 'mean P(true label)' }],
          },
        },
      ],
    },
  } as unknown as TopLevelSpec;
}
