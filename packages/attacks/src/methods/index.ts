import type { Method } from '@gradsign/core';
import type { AttackMethod } from '../base.ts';
import { bim } from './bim.ts';
import { fgsm } from './fgsm.ts';
import { mifgsm } from './mifgsm.ts';
import { pgd } from './pgd.ts';

export const METHOD_REGISTRY: Record<Method, AttackMethod> = { fgsm, bim, pgd, mifgsm };
export { bim, fgsm, mifgsm, pgd };
export { kurakinSteps } from './bim.ts';
