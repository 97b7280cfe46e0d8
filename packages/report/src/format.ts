/**
 * How the report writes numbers and labels, in one place: report.html, report.md, the tables, the
 * findings' sentences, its browser test and the exporter all format with these, so "the cell shows
 * what summary.json says" is a string comparison. Where two outputs write the same quantity
 * differently (the Markdown table's ε, the CSV's six digits), each way is a named function here.
 */
import { expandAttacks, explicitParameters, type AttackCombination, type PipelineConfig, type ReportRow } from '@gradsign/core';
import { paperName } from './paper.ts';

/** U+2212, the minus sign typography uses (not a hyphen). */
export const MINUS = '\u2212';

/** 0.4 → "40.0%". */
export function formatPct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

/** A 95% interval in percent without the % sign on the low end: [0.219, 0.613] → "21.9–61.3%". */
export function formatInterval([low, high]: readonly [number, number]): string {
  return `${(low * 100).toFixed(1)}\u2013${(high * 100).toFixed(1)}%`;
}

/** n of total as a percentage with two decimals, for a CSS width: 1 of 3 → "33.33%". */
export function formatShare(n: number, total: number): string {
  return `${((100 * n) / total).toFixed(2)}%`;
}

/** A rate as unsigned percentage points, spelled out: 0.123 → "12.3 percentage points". */
export function formatPoints(x: number): string {
  return `${(x * 100).toFixed(1)} percentage points`;
}

/** A difference of two rates in percentage points, signed: −0.5 → "−50.0 pp", 0 → "±0.0 pp". */
export function formatDelta(d: number): string {
  const v = Math.abs(d * 100).toFixed(1);
  if (v === '0.0') return '\u00b10.0 pp';
  return `${d < 0 ? MINUS : '+'}${v} pp`;
}

/** ε as Kurakin's k/255 when it is (almost) a whole k, else the plain number: 8/255 → "8/255". */
export function formatEps(eps: number, norm = 'linf'): string {
  if (norm !== 'linf') return formatNumber(eps);
  const k = eps * 255;
  const whole = Math.round(k);
  if (Math.abs(k - whole) < 1e-6) return `${whole}/255`;
  return `${Number(k.toFixed(2))}/255`;
}

/** The Markdown table's ε, whatever the norm: ε·255 with no decimals when exactly whole, else two: "8/255", "8.01/255". */
export function formatEpsOver255(eps: number): string {
  const k = eps * 255;
  return `${k.toFixed(k === Math.round(k) ? 0 : 2)}/255`;
}

/** ε with four decimals, as the findings' comparison labels write it: 8/255 → "0.0314". */
export function formatEpsDecimal(eps: number): string {
  return eps.toFixed(4);
}

/** A probability as "0.87" (or with `digits` decimals: a clean confidence as "0.873"). */
export function formatProb(p: number, digits = 2): string {
  return p.toFixed(digits);
}

/** `digits` significant digits, no trailing zeros: 0.65418314 → "0.6542". */
export function formatNumber(x: number, digits = 4): string {
  return String(Number(x.toPrecision(digits)));
}

/** A CSV number: six significant digits, no trailing zeros; empty when there is none. */
export function formatCsvNumber(x: number | null | undefined): string {
  return x === null || x === undefined ? '' : formatNumber(x, 6);
}

/** A count with thousands separators: 12000 → "12,000". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A count and its noun, plural unless one: "1 image", "3 images". */
export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A p-value: "< 0.001" or two significant digits. */
export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : formatNumber(p, 2);
}

/** A p-value as the findings' sentences write it: two significant digits as written by toPrecision ("0.10", "1.2e-7"). */
export function formatPSignificant(p: number): string {
  return p.toPrecision(2);
}

/** "fast (FGSM)" etc.: the paper's name, with ours when they differ. */
export function methodLabel(method: string): string {
  const paper = paperName(method);
  return paper === method ? method.toUpperCase() : `${paper} (${method.toUpperCase()})`;
}

/** A class's name, or "class 7" when the model has none for it. */
export function classLabel(classNames: readonly string[], k: number): string {
  return classNames[k] ?? `class ${k}`;
}

/** The distinct ε of the rows, formatted, in pipeline order: ["4/255", "8/255"]. */
export function epsLabels(rows: readonly ReportRow[]): string[] {
  return [...new Set(rows.map((r) => formatEps(r.eps, r.norm)))];
}

/** The pipeline's attacks by combination id: a report row's attack, structured (ids are never parsed). */
export type Combinations = ReadonlyMap<string, AttackCombination>;

export function combinationsOf(config: PipelineConfig): Combinations {
  return new Map(expandAttacks(config.attacks).map((c) => [c.id, c]));
}

type Series = Pick<AttackCombination, 'method' | 'gradient' | 'norm' | 'steps' | 'alpha' | 'momentum'>;

/** "fast · inverse", plus any parameter the sweep set explicitly ("(steps20)"), so different sweeps do not share one curve. */
export function seriesLabel(c: Series): string {
  const base = `${paperName(c.method)} \u00b7 ${c.gradient}`;
  const rest = explicitParameters(c);
  return rest.length ? `${base} (${rest.join(', ')})` : base;
}

/** "fast · inverse · 8/255" (and any explicit parameters). */
export function combinationLabel(c: Series & Pick<AttackCombination, 'eps'>): string {
  return `${seriesLabel(c)} \u00b7 \u03b5 ${formatEps(c.eps, c.norm)}`;
}

/** The text of one Table 1 analog cell, as the HTML shows it (and the browser test expects). */
export function cellTexts(row: ReportRow, metric: 'top1' | 'top5', paper: number | undefined) {
  const value = metric === 'top1' ? row.top1Error : row.top5Error;
  const ci = metric === 'top1' ? row.top1ErrorCI : row.top5ErrorCI;
  return {
    value: formatPct(value),
    interval: formatInterval(ci),
    delta: paper === undefined ? null : formatDelta(value - paper),
  };
}
