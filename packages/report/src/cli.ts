import { runStageCli } from '@gradsign/core';
import { reportStage } from './stage.ts';

await runStageCli(reportStage);
