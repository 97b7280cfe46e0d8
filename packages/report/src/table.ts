/** The Table 1 analog as Markdown and CSV. */
import { BUCKETS, type ReportRow, type ReportSummary } from '@gradsign/core';
import { formatCsvNumber as num, formatEpsOver255, formatPct } from './format.ts';
import { PAPER, paperName, type paperCell } from './paper.ts';
import { combinationRows } from './rows.ts';

function markdownRow(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

export function markdownTable(rows: ReportRow[]): string {
  const header = ['Method', 'Gradient', 'ε', ...BUCKETS.flatMap((b) => [`${b} top-1`, `${b} top-5`])];
  const lines = [markdownRow(header), markdownRow(header.map((_, i) => (i < 2 ? '---' : '---:')))];
  for (const { combo, cells } of combinationRows(rows)) {
    lines.push(
      markdownRow([
        paperName(combo.method),
        combo.gradient,
        formatEpsOver255(combo.eps),
        ...BUCKETS.flatMap((b) => {
          const c = cells.get(b);
          return c ? [formatPct(c.top1Error), formatPct(c.top5Error)] : ['–', '–'];
        }),
      ]),
    );
  }
  return lines.join('\n');
}

export function paperMarkdownTable(): string {
  const header = ['Method', 'Gradient', ...BUCKETS.flatMap((b) => [`${b} top-1`, `${b} top-5`])];
  const lines = [markdownRow(header), markdownRow(header.map((_, i) => (i < 2 ? '---' : '---:')))];
  for (const r of PAPER.errorRates) {
    lines.push(markdownRow([r.method, r.gradient, ...BUCKETS.flatMap((b) => [formatPct(r[b].top1), formatPct(r[b].top5)])]));
  }
  return lines.join('\n');
}

const CSV_COLUMNS = [
  'combination', 'method', 'paperMethod', 'gradient', 'eps', 'norm', 'steps', 'alpha', 'bucket', 'n',
  'top1Error', 'top1ErrorLow', 'top1ErrorHigh', 'top5Error', 'top5ErrorLow', 'top5ErrorHigh',
  'paperTop1Error', 'paperTop5Error', 'targetSuccess', 'meanLinf', 'meanL2',
] as const;

export function csvTable(summary: ReportSummary, paperCellOf: typeof paperCell): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of summary.rows) {
    const paper = paperCellOf(r.method, r.gradient)?.[r.bucket];
    lines.push(
      [
        r.combination, r.method, paperName(r.method), r.gradient, num(r.eps), r.norm, r.steps, num(r.alpha), r.bucket, r.n,
        num(r.top1Error), num(r.top1ErrorCI[0]), num(r.top1ErrorCI[1]), num(r.top5Error), num(r.top5ErrorCI[0]), num(r.top5ErrorCI[1]),
        num(paper?.top1), num(paper?.top5), num(r.targetSuccess), num(r.meanLinf), num(r.meanL2),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}
