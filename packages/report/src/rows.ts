/**
 * How the report groups its rows (one per combination × bucket), in one place: by combination in
 * pipeline order (the Markdown and CSV tables, the findings, the facts), and those combinations by
 * method × gradient with ε ascending (the HTML Table 1, the examples and the confidence-shift plot).
 */
import type { BucketName, ReportRow } from '@gradsign/core';

/** One combination's rows. */
export interface CombinationRows {
  /** Its first row: the attack's fields (method, gradient, ε, norm, steps, α) are the same in all of them. */
  combo: ReportRow;
  /** Its rows by bucket. */
  cells: Map<BucketName, ReportRow>;
}

/** The rows of each combination, in pipeline (first-appearance) order. */
export function combinationRows(rows: ReportRow[]): CombinationRows[] {
  const byId = new Map<string, CombinationRows>();
  for (const r of rows) {
    const found = byId.get(r.combination);
    if (found) found.cells.set(r.bucket, r);
    else byId.set(r.combination, { combo: r, cells: new Map([[r.bucket, r]]) });
  }
  return [...byId.values()];
}

/** One method × gradient of the HTML Table 1: its combinations, ε ascending. */
export interface TableGroup {
  key: string;
  method: string;
  gradient: string;
  combos: CombinationRows[];
}

/** The combinations grouped by method × gradient (first-appearance order), ε ascending within a group. */
export function tableGroups(rows: ReportRow[]): TableGroup[] {
  const groups = new Map<string, TableGroup>();
  for (const c of combinationRows(rows)) {
    const { method, gradient } = c.combo;
    const key = `${method}|${gradient}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { key, method, gradient, combos: [] }));
    group.combos.push(c);
  }
  for (const g of groups.values()) g.combos.sort((a, b) => a.combo.eps - b.combo.eps || a.combo.combination.localeCompare(b.combo.combination));
  return [...groups.values()];
}

/** The combinations in the HTML Table 1's order. */
export function tableOrder(rows: ReportRow[]): ReportRow[] {
  return tableGroups(rows).flatMap((g) => g.combos.map((c) => c.combo));
}
