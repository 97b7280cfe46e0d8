import { BACKENDS, readConfigArg, runCli } from '@gradsign/core';
import { runAttackStage } from './run.ts';

await runCli(
  {
    name: 'gradsign-attacks',
    summary: 'run one attack combination (method × gradient × ε) on the bucketed images → adversarial.arrow',
    options: {
      config: {
        type: 'string',
        required: true,
        description:
          'stage config: JSON text or file ({"attack": {"id","method","gradient","eps","norm",...}, "seed", "batchSize", "backend", "workers"}); ' +
          'GRADSIGN_WORKERS=<n>|auto overrides "workers"',
      },
      buckets: { type: 'string', required: true, description: 'bucketing output directory (buckets.arrow)' },
      model: { type: 'string', required: true, description: 'model directory' },
      out: { type: 'string', required: true, description: 'output directory (adversarial.arrow)' },
      backend: { type: 'string', description: `override the backend: ${BACKENDS.join('|')}` },
    },
    examples: [
      `gradsign-attacks --config '{"attack":{"id":"bim-inverse-eps0.0314","method":"bim","gradient":"inverse","eps":0.0314,"norm":"linf"}}' --buckets artifacts/full/bucketing --model artifacts/full/model --out /tmp/bim`,
    ],
  },
  async ({ config, buckets, model, out, backend }) => {
    const raw = (await readConfigArg(config)) as Record<string, unknown>;
    await runAttackStage(backend ? { ...raw, backend } : raw, buckets, model, out);
  },
);
