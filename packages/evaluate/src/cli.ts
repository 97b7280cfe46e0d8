import { runStageCli } from '@gradsign/core';
import { evaluateStage } from './stage.ts';

await runStageCli(evaluateStage);
