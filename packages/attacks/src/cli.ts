import { runStageCli } from '@gradsign/core';
import { attacksStage } from './stage.ts';

await runStageCli(attacksStage);
