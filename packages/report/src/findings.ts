/**
 * The paper's four findings, checked on this run. Each finding is a family of comparisons, each with
 * its own test: exact McNemar for two cells on the same images, a two-proportion z-test for two
 * buckets (different images). A comparison counts only when its p-value, Holm–Bonferroni adjusted
 * over the finding's own comparisons, is below α = 0.05, so the chance that noise alone makes any
 * comparison of a finding count stays under 5%. Raw p-values and counts are kept beside.
 */
import { BUCKETS, type BucketName, type Finding, type MinimumDetectableDifference, type ReportRow, type Verdict } from '@gradsign/core';
import { formatEpsDecimal, formatPct, formatPoints, formatPSignificant } from './format.ts';
import { mcnemarMdd, TARGET_POWER, twoProportionMdd } from './power.ts';
import { combinationRows } from './rows.ts';
import { holmAdjust, mcnemar, twoProportionTest } from './stats.ts';

export const SIGNIFICANCE = 0.05;

/** How a verdict follows from the counts, as the report states it. */
export const VERDICT_RULE =
  "Each finding's comparisons are one family: their p-values are Holm–Bonferroni adjusted over that family, and a comparison counts " +
  `only when its adjusted p < ${SIGNIFICANCE}. A finding holds when no comparison is significantly against the claim and at least half ` +
  'are significantly for it; does not hold when at least one is significantly against it; otherwise it is not significant.';

export type Metric = 'top1' | 'top5';
/** Per-image errors of one combination: bucket → image id → erred? */
export type ImageErrors = Record<BucketName, Map<number, { top1: boolean; top5: boolean }>>;

export type TestKind = MinimumDetectableDifference['test'];
const TEST_NAMES: Record<TestKind, string> = { 'mcnemar-exact': 'McNemar, paired', 'two-proportion-z': 'two-proportion z-test' };

/** One comparison as its own test left it, before the finding's correction. */
export interface TestedComparison {
  label: string;
  /** Error rates of the side the claim says is higher, and of the other side. */
  higher: number;
  lower: number;
  /** Raw two-sided p-value. */
  p: number;
  /** Images per side: pairs (McNemar), or the two buckets' harmonic mean size (z-test; its variance goes with 1/n₁ + 1/n₂). */
  n: number;
  /** The rate its test's power depends on: the discordant share (McNemar), the pooled error rate (z-test). */
  baseline: number;
}

export interface Comparison extends TestedComparison {
  /** p after the Holm–Bonferroni correction over the finding's comparisons. */
  pHolm: number;
}

/** Paired comparison on the same images: is `a`'s error ≥ `b`'s? */
export function pairedComparison(label: string, a: Map<number, boolean>, b: Map<number, boolean>): TestedComparison {
  let onlyA = 0;
  let onlyB = 0;
  let errA = 0;
  let errB = 0;
  let pairs = 0;
  for (const [id, ea] of a) {
    const eb = b.get(id);
    if (eb === undefined) continue;
    pairs++;
    if (ea) errA++;
    if (eb) errB++;
    if (ea && !eb) onlyA++;
    if (eb && !ea) onlyB++;
  }
  const n = Math.max(1, a.size);
  return { label, higher: errA / n, lower: errB / n, p: mcnemar(onlyA, onlyB), n: pairs, baseline: pairs ? (onlyA + onlyB) / pairs : 0 };
}

/** Two buckets (different images): is `a`'s error (ka of na) ≥ `b`'s (kb of nb)? */
export function bucketComparison(label: string, ka: number, na: number, kb: number, nb: number): TestedComparison {
  return { label, higher: ka / na, lower: kb / nb, p: twoProportionTest(ka, na, kb, nb), n: (2 * na * nb) / (na + nb), baseline: (ka + kb) / (na + nb) };
}

type Status = 'supports' | 'contradicts' | 'noise';

function statusAt(c: TestedComparison, p: number): Status {
  if (p >= SIGNIFICANCE || c.higher === c.lower) return 'noise';
  return c.higher > c.lower ? 'supports' : 'contradicts';
}

/** Where one comparison stands after its finding's Holm correction: significantly as claimed, significantly against, or within noise. */
export function comparisonStatus(c: Comparison): Status {
  return statusAt(c, c.pHolm);
}

/** The same at the raw p-value, as if the comparison were the finding's only test. */
export function rawStatus(c: TestedComparison): Status {
  return statusAt(c, c.p);
}

type Tally = Pick<Finding, 'verdict' | 'comparisons' | 'supporting' | 'contradicting' | 'againstNotSignificant' | 'supportingRaw' | 'contradictingRaw'>;

/**
 * The verdict, on Holm-adjusted counts: does not hold when any comparison is significantly against
 * the claim; holds when none is and at least half are significantly for it; else not significant.
 */
function tally(comparisons: Comparison[]): Tally {
  const count = (status: (c: Comparison) => Status, wanted: Status) => comparisons.filter((c) => status(c) === wanted).length;
  const supporting = count(comparisonStatus, 'supports');
  const contradicting = count(comparisonStatus, 'contradicts');
  let verdict: Verdict = 'not significant';
  if (contradicting > 0) verdict = 'does not hold';
  else if (comparisons.length > 0 && supporting * 2 >= comparisons.length) verdict = 'holds';
  return {
    verdict,
    comparisons: comparisons.length,
    supporting,
    contradicting,
    againstNotSignificant: comparisons.filter((c) => c.higher < c.lower && comparisonStatus(c) === 'noise').length,
    supportingRaw: count(rawStatus, 'supports'),
    contradictingRaw: count(rawStatus, 'contradicts'),
  };
}

function median(xs: number[]): number {
  const sorted = xs.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The minimum detectable difference of a typical comparison of the finding: its test at the median
 * n and the median baseline over the finding's comparisons (the z-test: two buckets of n images,
 * rates straddling the baseline error rate; McNemar: n pairs at the baseline discordant share).
 */
function minimumDetectableDifference(test: TestKind, comparisons: TestedComparison[]): MinimumDetectableDifference | null {
  if (comparisons.length === 0) return null;
  const n = Math.round(median(comparisons.map((c) => c.n)));
  const baseline = median(comparisons.map((c) => c.baseline));
  const value = test === 'mcnemar-exact' ? mcnemarMdd(n, baseline, SIGNIFICANCE) : twoProportionMdd(n, n, baseline, SIGNIFICANCE);
  return { value, test, n, baseline, power: TARGET_POWER, alpha: SIGNIFICANCE };
}

const pValues = (c: Comparison) => `p = ${formatPSignificant(c.p)}, Holm-adjusted ${formatPSignificant(c.pHolm)}`;

function describe(comparisons: Comparison[], t: Tally, test: TestKind): string {
  const parts = [
    `${t.supporting} of ${t.comparisons} comparisons significantly as claimed (${TEST_NAMES[test]}, Holm-adjusted p < ${SIGNIFICANCE}; ${t.supportingRaw} at raw p < ${SIGNIFICANCE})`,
    `${t.contradicting} significantly against (${t.contradictingRaw} at raw p)`,
    `${t.againstNotSignificant} against within noise`,
  ];
  const byGap = comparisons.slice().sort((a, b) => a.higher - a.lower - (b.higher - b.lower));
  const worst = byGap.find((c) => c.higher < c.lower);
  if (worst) parts.push(`largest reversal: ${worst.label} ${formatPct(worst.higher)} vs ${formatPct(worst.lower)} (${pValues(worst)})`);
  else if (byGap[0]) parts.push(`smallest gap: ${byGap[0].label} ${formatPct(byGap[0].higher)} vs ${formatPct(byGap[0].lower)} (${pValues(byGap[0])})`);
  return parts.join('; ');
}

/** The finding and its comparisons with Holm-adjusted p-values. */
function finding(id: number, claim: string, test: TestKind, tested: TestedComparison[]): { finding: Finding; comparisons: Comparison[] } {
  const adjusted = holmAdjust(tested.map((c) => c.p));
  const comparisons = tested.map((c, i) => ({ ...c, pHolm: adjusted[i]! }));
  const t = tally(comparisons);
  return {
    finding: {
      id,
      claim,
      test: TEST_NAMES[test],
      ...t,
      correction: 'holm',
      alpha: SIGNIFICANCE,
      minimumDetectableDifference: minimumDetectableDifference(test, tested),
      detail: comparisons.length ? describe(comparisons, t, test) : 'no comparable cells in this run',
    },
    comparisons,
  };
}

/**
 * The card's sentence on power: the smallest difference in error rate the finding's test detects at
 * this bucket size, so that "not significant" reads as "absent or too small for this many images".
 */
export function detectableText(f: Finding): string {
  const m = f.minimumDetectableDifference;
  if (!m) return '';
  const at =
    m.test === 'mcnemar-exact'
      ? `exact McNemar test at ${formatPct(m.baseline)} of images erring under one side only`
      : `two-proportion z-test at a ${formatPct(m.baseline)} baseline error rate`;
  const basis = `${Math.round(m.power * 100)}% power at α = ${m.alpha}; ${at}; n and that rate are medians over the ${f.comparisons} comparisons`;
  const size = `${m.n} images per bucket`;
  if (m.value === null) {
    return `No difference in error rate can be detected with ${size} (${basis})${f.verdict === 'not significant' ? ': this run cannot test the claim' : ''}.`;
  }
  const points = formatPoints(m.value);
  const meaning = f.verdict === 'not significant' ? ` Not significant here means absent or smaller than ${points}, not shown absent.` : '';
  return `Smallest detectable difference ${points}: differences under that cannot be told from noise with ${size} (${basis}).${meaning}`;
}

const errorsOf = (e: ImageErrors, bucket: BucketName, metric: Metric) =>
  new Map(Array.from(e[bucket], ([id, x]) => [id, x[metric]]));

/** Checks the four findings of the paper's Table 1 on this run's rows and per-image errors. */
export function checkFindings(rows: ReportRow[], perImage: Map<string, ImageErrors>): Finding[] {
  return checkFindingsDetailed(rows, perImage).findings;
}

/** The findings and, for each, every comparison behind its verdict (the report lists them). */
export function checkFindingsDetailed(rows: ReportRow[], perImage: Map<string, ImageErrors>): { findings: Finding[]; comparisons: Comparison[][] } {
  const grouped = combinationRows(rows);
  const combos = grouped.map((g) => g.combo);
  // The same attack with one of method/gradient changed (ε and norm equal): a paired twin.
  const key = (r: Pick<ReportRow, 'method' | 'gradient' | 'eps' | 'norm'>) => `${r.method}|${r.gradient}|${r.eps}|${r.norm}`;
  const byKey = new Map(combos.map((c) => [key(c), c]));
  const twin = (r: ReportRow, change: Partial<ReportRow>) => byKey.get(key({ ...r, ...change }));

  const iterativeVsFast: TestedComparison[] = [];
  const inverseVsLeastLikely: TestedComparison[] = [];
  const top5BelowTop1: TestedComparison[] = [];
  const fallsWithConfidence: TestedComparison[] = [];

  for (const { combo: c, cells } of grouped) {
    const mine = perImage.get(c.combination)!;
    const fast = c.method === 'bim' ? twin(c, { method: 'fgsm' }) : undefined;
    const ll = c.gradient === 'inverse' ? twin(c, { gradient: 'least-likely' }) : undefined;
    for (const bucket of BUCKETS) {
      if (mine[bucket].size === 0) continue;
      for (const metric of ['top1', 'top5'] as const) {
        if (fast) {
          iterativeVsFast.push(pairedComparison(`${c.gradient} ε=${formatEpsDecimal(c.eps)} ${bucket} ${metric}`, errorsOf(mine, bucket, metric), errorsOf(perImage.get(fast.combination)!, bucket, metric)));
        }
      }
      if (ll) {
        inverseVsLeastLikely.push(pairedComparison(`${c.method} ε=${formatEpsDecimal(c.eps)} ${bucket}`, errorsOf(mine, bucket, 'top5'), errorsOf(perImage.get(ll.combination)!, bucket, 'top5')));
      }
      top5BelowTop1.push(pairedComparison(`${c.combination} ${bucket}`, errorsOf(mine, bucket, 'top1'), errorsOf(mine, bucket, 'top5')));
    }
    for (const metric of ['top1', 'top5'] as const) {
      for (const [hi, lo] of [['low', 'medium'], ['medium', 'high']] as const) {
        const a = cells.get(hi);
        const b = cells.get(lo);
        if (!a || !b) continue;
        const k = metric === 'top1' ? 'top1Errors' : 'top5Errors';
        fallsWithConfidence.push(bucketComparison(`${c.combination} ${metric} ${hi}→${lo}`, a[k], a.n, b[k], b.n));
      }
    }
  }
  const checked = [
    finding(1, 'iterative ≥ fast in every cell', 'mcnemar-exact', iterativeVsFast),
    finding(2, 'inverse ≥ least-likely on top-5 error in every bucket', 'mcnemar-exact', inverseVsLeastLikely),
    finding(3, 'error falls from low to medium to high confidence in every row', 'two-proportion-z', fallsWithConfidence),
    finding(4, 'top-5 error is well below top-1 error', 'mcnemar-exact', top5BelowTop1),
  ];
  return { findings: checked.map((c) => c.finding), comparisons: checked.map((c) => c.comparisons) };
}
