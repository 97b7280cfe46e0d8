import { readConfigArg, runCli } from '@gradsign/core';
import { report } from './index.ts';
import { markdownTable } from './table.ts';

await runCli(
  {
    name: 'gradsign-report',
    summary: "build the report (report.html, report.md, table.csv, summary.json) from a pipeline's evaluations",
    options: {
      config: { type: 'string', required: true, description: 'stage config: JSON text or file ({"pipeline", "config", "combinations"})' },
      artifacts: { type: 'string', required: true, description: "the pipeline's artifacts directory (artifacts/<pipeline>)" },
      out: { type: 'string', required: true, description: 'output directory' },
    },
  },
  async ({ config, artifacts, out }) => {
    const summary = await report(await readConfigArg(config), artifacts, out);
    process.stdout.write(`${markdownTable(summary.rows)}\n\nreport: ${out}/report.html\n`);
  },
);
