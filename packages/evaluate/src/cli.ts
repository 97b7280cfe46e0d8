import { BACKENDS, readConfigArg, runCli } from '@gradsign/core';
import { evaluate } from './index.ts';

await runCli(
  {
    name: 'gradsign-evaluate',
    summary: 'classify adversarial images → per-image metrics.arrow and per-bucket top-1/top-5 error (summary.json)',
    options: {
      config: { type: 'string', required: true, description: 'stage config: JSON text or file ({"evaluate": {"quantize": false}, "batchSize", "backend"})' },
      attack: { type: 'string', required: true, description: 'attack output directory (adversarial.arrow)' },
      buckets: { type: 'string', required: true, description: 'bucketing output directory (buckets.arrow)' },
      model: { type: 'string', required: true, description: 'model directory' },
      out: { type: 'string', required: true, description: 'output directory (metrics.arrow, summary.json)' },
      backend: { type: 'string', description: `override the backend: ${BACKENDS.join('|')}` },
    },
  },
  async ({ config, attack, buckets, model, out, backend }) => {
    const raw = (await readConfigArg(config)) as Record<string, unknown>;
    await evaluate(backend ? { ...raw, backend } : raw, attack, buckets, model, out);
  },
);
