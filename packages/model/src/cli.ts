import { runStageCli } from '@gradsign/core';
import { modelStage } from './stage.ts';

await runStageCli(modelStage);
