/** The paper's Table 1 (Possas; Inception V3 on ImageNet), shipped with the report. */
import { z } from 'zod';
import { createRequire } from 'node:module';

const Cell = z.object({ top1: z.number(), top5: z.number() });
export const PaperTable = z.object({
  source: z.string(),
  setup: z.record(z.string(), z.unknown()),
  errorRates: z.array(
    z.object({ method: z.enum(['fast', 'iterative']), gradient: z.enum(['inverse', 'least-likely']), low: Cell, medium: Cell, high: Cell }),
  ),
  findings: z.array(z.string()).length(4),
});
export type PaperTable = z.infer<typeof PaperTable>;

export const PAPER: PaperTable = PaperTable.parse(createRequire(import.meta.url)('./paper-table1.json'));

/** Our method ids by the paper's names. */
export const PAPER_METHOD: Record<string, string> = { fgsm: 'fast', bim: 'iterative' };
export const paperName = (method: string) => PAPER_METHOD[method] ?? method;

export function paperCell(method: string, gradient: string) {
  return PAPER.errorRates.find((r) => r.method === PAPER_METHOD[method] && r.gradient === gradient);
}
