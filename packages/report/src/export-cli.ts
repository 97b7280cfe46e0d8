import { runCli } from '@gradsign/core';
import { exportCombination } from './export.ts';

await runCli(
  {
    name: 'gradsign-export',
    summary: "write one combination's adversarial images as PNG files (8-bit, rounded half to even) with a CSV index",
    options: {
      artifacts: { type: 'string', required: true, description: "the pipeline's artifacts directory (artifacts/<pipeline>)" },
      combination: { type: 'string', description: 'the combination id, e.g. bim-inverse-eps0.0314 (the folder name under attacks/); omit it to list them' },
      out: { type: 'string', required: true, description: 'output directory: <bucket>/<image id>.png and index.csv' },
    },
    examples: [
      'gradsign-export --artifacts artifacts/full --combination bim-inverse-eps0.0314 --out exports/bim',
      'node packages/report/bin/gradsign-export.js --artifacts artifacts/smoke --combination fgsm-inverse-eps0.0314 --out exports/fgsm',
    ],
  },
  async ({ artifacts, combination, out }) => {
    const r = await exportCombination({ artifacts, combination, out });
    process.stdout.write(
      `wrote ${r.images} PNG files (${r.width}×${r.height}, ${r.channels === 1 ? 'grey' : `${r.channels} channels`}, 8-bit) and ${r.index}\n`,
    );
  },
);
