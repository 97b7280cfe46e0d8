/**
 * The paper's four findings, checked on this run. A comparison counts only when a test says it is
 * beyond noise: exact McNemar for two cells on the same images, a two-proportion z-test for two
 * buckets (different images). α = 0.05.
 */
import { BUCKETS, type BucketName, type Finding, type ReportRow, type Verdict } from '@gradsign/core';
import { mcnemar, twoProportionTest } from './stats.ts';

export const SIGNIFICANCE = 0.05;

export type Metric = 'top1' | 'top5';
/** Per-image errors of one combination: bucket → image id → erred? */
export type ImageErrors = Record<BucketName, Map<number, { top1: boolean; top5: boolean }>>;

export interface Comparison {
  label: string;
  /** Error rates of the side the claim says is higher, and of the other side. */
  higher: number;
  lower: number;
  p: number;
}

/** Paired comparison on the same images: is `a`'s error ≥ `b`'s? */
export function pairedComparison(label: string, a: Map<number, boolean>, b: Map<number, boolean>): Comparison {
  let onlyA = 0;
  let onlyB = 0;
  let errA = 0;
  let errB = 0;
  for (const [id, ea] of a) {
    const eb = b.get(id);
    if (eb === undefined) continue;
    if (ea) errA++;
    if (eb) errB++;
    if (ea && !eb) onlyA++;
    if (eb && !ea) onlyB++;
  }
  const n = Math.max(1, a.size);
  return { label, higher: errA / n, lower: errB / n, p: mcnemar(onlyA, onlyB) };
}

function verdictOf(comparisons: Comparison[]): Pick<Finding, 'verdict' | 'supporting' | 'contradicting' | 'againstNotSignificant' | 'comparisons'> {
  const supporting = comparisons.filter((c) => c.higher > c.lower && c.p < SIGNIFICANCE).length;
  const contradicting = comparisons.filter((c) => c.higher < c.lower && c.p < SIGNIFICANCE).length;
  const againstNotSignificant = comparisons.filter((c) => c.higher < c.lower && c.p >= SIGNIFICANCE).length;
  let verdict: Verdict = 'not significant';
  if (contradicting > 0) verdict = 'does not hold';
  else if (comparisons.length > 0 && supporting * 2 >= comparisons.length) verdict = 'holds';
  return { verdict, supporting, contradicting, againstNotSignificant, comparisons: comparisons.length };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function describe(comparisons: Comparison[], v: ReturnType<typeof verdictOf>, test: string): string {
  const parts = [
    `${v.supporting} of ${v.comparisons} comparisons significantly as claimed (${test}, p < ${SIGNIFICANCE})`,
    `${v.contradicting} significantly against`,
    `${v.againstNotSignificant} against within noise`,
  ];
  const worst = comparisons.filter((c) => c.higher < c.lower).sort((a, b) => a.higher - a.lower - (b.higher - b.lower))[0];
  if (worst) parts.push(`largest reversal: ${worst.label} ${pct(worst.higher)} vs ${pct(worst.lower)} (p = ${worst.p.toPrecision(2)})`);
  else if (comparisons[0]) {
    const smallest = comparisons.slice().sort((a, b) => a.higher - a.lower - (b.higher - b.lower))[0]!;
    parts.push(`smallest gap: ${smallest.label} ${pct(smallest.higher)} vs ${pct(smallest.lower)} (p = ${smallest.p.toPrecision(2)})`);
  }
  return parts.join('; ');
}

function finding(id: number, claim: string, test: string, comparisons: Comparison[]): Finding {
  const v = verdictOf(comparisons);
  return { id, claim, test, ...v, detail: comparisons.length ? describe(comparisons, v, test) : 'no comparable cells in this run' };
}

const errorsOf = (e: ImageErrors, bucket: BucketName, metric: Metric) =>
  new Map(Array.from(e[bucket], ([id, x]) => [id, x[metric]]));

/** Checks the four findings of the paper's Table 1 on this run's rows and per-image errors. */
export function checkFindings(rows: ReportRow[], perImage: Map<string, ImageErrors>): Finding[] {
  return checkFindingsDetailed(rows, perImage).findings;
}

/** The findings and, for each, every comparison behind its verdict (the report lists them). */
export function checkFindingsDetailed(rows: ReportRow[], perImage: Map<string, ImageErrors>): { findings: Finding[]; comparisons: Comparison[][] } {
  const combos = [...new Map(rows.map((r) => [r.combination, r])).values()];
  // The same attack with one of method/gradient changed (ε and norm equal): a paired twin.
  const key = (r: Pick<ReportRow, 'method' | 'gradient' | 'eps' | 'norm'>) => `${r.method}|${r.gradient}|${r.eps}|${r.norm}`;
  const byKey = new Map(combos.map((c) => [key(c), c]));
  const twin = (r: ReportRow, change: Partial<ReportRow>) => byKey.get(key({ ...r, ...change }));

  const iterativeVsFast: Comparison[] = [];
  const inverseVsLeastLikely: Comparison[] = [];
  const top5BelowTop1: Comparison[] = [];
  const fallsWithConfidence: Comparison[] = [];

  for (const c of combos) {
    const mine = perImage.get(c.combination)!;
    const fast = c.method === 'bim' ? twin(c, { method: 'fgsm' }) : undefined;
    const ll = c.gradient === 'inverse' ? twin(c, { gradient: 'least-likely' }) : undefined;
    for (const bucket of BUCKETS) {
      if (mine[bucket].size === 0) continue;
      for (const metric of ['top1', 'top5'] as const) {
        if (fast) {
          iterativeVsFast.push(pairedComparison(`${c.gradient} ε=${c.eps.toFixed(4)} ${bucket} ${metric}`, errorsOf(mine, bucket, metric), errorsOf(perImage.get(fast.combination)!, bucket, metric)));
        }
      }
      if (ll) {
        inverseVsLeastLikely.push(pairedComparison(`${c.method} ε=${c.eps.toFixed(4)} ${bucket}`, errorsOf(mine, bucket, 'top5'), errorsOf(perImage.get(ll.combination)!, bucket, 'top5')));
      }
      top5BelowTop1.push(pairedComparison(`${c.combination} ${bucket}`, errorsOf(mine, bucket, 'top1'), errorsOf(mine, bucket, 'top5')));
    }
    const cell = (bucket: BucketName) => rows.find((r) => r.combination === c.combination && r.bucket === bucket);
    for (const metric of ['top1', 'top5'] as const) {
      for (const [hi, lo] of [['low', 'medium'], ['medium', 'high']] as const) {
        const a = cell(hi);
        const b = cell(lo);
        if (!a || !b) continue;
        const k = metric === 'top1' ? 'top1Errors' : 'top5Errors';
        fallsWithConfidence.push({
          label: `${c.combination} ${metric} ${hi}→${lo}`,
          higher: a[k] / a.n,
          lower: b[k] / b.n,
          p: twoProportionTest(a[k], a.n, b[k], b.n),
        });
      }
    }
  }
  return {
    findings: [
      finding(1, 'iterative ≥ fast in every cell', 'McNemar, paired', iterativeVsFast),
      finding(2, 'inverse ≥ least-likely on top-5 error in every bucket', 'McNemar, paired', inverseVsLeastLikely),
      finding(3, 'error falls from low to medium to high confidence in every row', 'two-proportion z-test', fallsWithConfidence),
      finding(4, 'top-5 error is well below top-1 error', 'McNemar, paired', top5BelowTop1),
    ],
    comparisons: [iterativeVsFast, inverseVsLeastLikely, fallsWithConfidence, top5BelowTop1],
  };
}

/** Where one comparison stands: in the claimed direction and significant, against and significant, or within noise. */
export function comparisonStatus(c: Comparison): 'supports' | 'contradicts' | 'noise' {
  if (c.p < SIGNIFICANCE && c.higher > c.lower) return 'supports';
  if (c.p < SIGNIFICANCE && c.higher < c.lower) return 'contradicts';
  return 'noise';
}
