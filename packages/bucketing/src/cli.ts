import { readConfigArg, runCli } from '@gradsign/core';
import { bucketing } from './index.ts';

await runCli(
  {
    name: 'gradsign-bucketing',
    summary: 'predict the clean test split, keep correct images, bucket them by confidence and sample each bucket',
    options: {
      config: { type: 'string', required: true, description: 'stage config: JSON text or file ({"buckets": {...}, "seed": 0})' },
      data: { type: 'string', required: true, description: 'preprocess output directory (test.arrow)' },
      model: { type: 'string', required: true, description: 'model directory (model-info.json)' },
      out: { type: 'string', required: true, description: 'output directory (buckets.arrow, clean-predictions.arrow, bucketing.json)' },
    },
  },
  async ({ config, data, model, out }) => {
    await bucketing(await readConfigArg(config), data, model, out);
  },
);
