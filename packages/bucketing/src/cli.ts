import { runStageCli } from '@gradsign/core';
import { bucketingStage } from './stage.ts';

await runStageCli(bucketingStage);
