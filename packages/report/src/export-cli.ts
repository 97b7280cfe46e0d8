import { runCli } from '@gradsign/core';
import { EXPORT_CLI, exportCombination, exportMessage } from './export.ts';

await runCli(EXPORT_CLI, async (options) => {
  process.stdout.write(exportMessage(await exportCombination(options)));
});
