import { runStageCli } from '@gradsign/core';
import { preprocessStage } from './stage.ts';

await runStageCli(preprocessStage);
