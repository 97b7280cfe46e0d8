/**
 * How the report writes numbers, in one place: report.html, its browser test and the exporter all
 * format with these, so "the cell shows what summary.json says" is a string comparison.
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

/** A difference of two rates in percentage points, signed: −0.5 → "−50.0 pp", 0 → "±0.0 pp". */
export function formatDelta(d: number): string {
  const v = Math.abs(d * 100).toFixed(1);
  if (v === '0.0') return '\u00b10.0 pp';
  return `${d < 0 ? MINUS : '+'}${v} pp`;
}

/** ε as Kurakin's k/255 when it is (almost) a whole k, else the plain number: 8/255 → "8/255". */
export function formatEps(eps: number, norm = 'linf'): string {
  if (norm !== 'linf') return String(Number(eps.toPrecision(4)));
  const k = eps * 255;
  const whole = Math.round(k);
  if (Math.abs(k - whole) < 1e-6) return `${whole}/255`;
  return `${Number(k.toFixed(2))}/255`;
}

/** A probability as "0.87". */
export function formatProb(p: number): string {
  return p.toFixed(2);
}

/** Four significant digits, no trailing zeros: 0.65418314 → "0.6542". */
export function formatNumber(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/** A p-value: "< 0.001" or two significant digits. */
export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : String(Number(p.toPrecision(2)));
}

/** "fast (FGSM)" etc.: the paper's name, with ours when they differ. */
export function methodLabel(method: string): string {
  const paper = paperName(method);
  return paper === method ? method.toUpperCase() : `${paper} (${method.toUpperCase()})`;
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
