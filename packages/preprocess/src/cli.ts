import { readConfigArg, runCli } from '@gradsign/core';
import { preprocess } from './index.ts';

await runCli(
  {
    name: 'gradsign-preprocess',
    summary: 'turn a dataset (Fashion-MNIST IDX files, or an image folder) into images Arrow files',
    options: {
      config: { type: 'string', required: true, description: 'stage config: JSON text or a path to a JSON file ({"dataset": {...}})' },
      out: { type: 'string', required: true, description: 'output directory (train.arrow, test.arrow)' },
    },
    examples: [`gradsign-preprocess --config '{"dataset":{"kind":"fashion-mnist"}}' --out artifacts/mine/preprocess`],
  },
  async ({ config, out }) => preprocess(await readConfigArg(config), out),
);
