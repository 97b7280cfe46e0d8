import { BACKENDS, readConfigArg, runCli } from '@gradsign/core';
import { buildModel } from './index.ts';

await runCli(
  {
    name: 'gradsign-model',
    summary: 'train the default CNN with a fixed seed, or import your TensorFlow.js model, into a model directory',
    options: {
      config: { type: 'string', required: true, description: 'stage config: JSON text or file ({"model": {...}, "seed": 0})' },
      data: { type: 'string', required: true, description: 'preprocess output directory (train.arrow, test.arrow)' },
      out: { type: 'string', required: true, description: 'output model directory' },
      backend: { type: 'string', description: `override the config's backend: ${BACKENDS.join('|')}` },
    },
    examples: [
      `gradsign-model --config '{"model":{"kind":"train","epochs":2}}' --data artifacts/full/preprocess --out artifacts/full/model`,
    ],
  },
  async ({ config, data, out, backend }) => {
    const raw = (await readConfigArg(config)) as Record<string, unknown>;
    await buildModel(backend ? { ...raw, backend } : raw, data, out);
  },
);
