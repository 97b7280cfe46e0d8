/** Section 3 of report.html: the gradient diagnostics (where attack gradients were zero, and which cells are flagged). */
import type { ReportSummary } from '@gradsign/core';
import { DIAGNOSTICS_HEADER, diagnosticsCells, diagnosticsSummary, flagReasons, PGD_SHARE_TOLERANCE } from '../diagnostics.ts';
import { formatPct, type Combinations } from '../format.ts';
import { esc } from './escape.ts';

/** Where attack gradients were zero, per combination × bucket; flagged rows are marked. */
export function diagnosticsSection(s: ReportSummary, combinations: Combinations): string {
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
