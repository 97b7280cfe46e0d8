// @ts-check
// `node packages/nx-plugin/explain-invalid-pipeline.cjs pipelines/<name>.json`: the command of the
// `pipeline:<name>` target of a pipeline file that cannot be planned. Prints why (core's message,
// naming the file and each bad field, and a hint) and exits 1.
const path = require('node:path');
const { InvalidPipelineError, plan } = require('./plan-memo.js');

const root = path.resolve(__dirname, '../..');
const file = process.argv[2] ?? '';
try {
  plan(root, file);
  process.stderr.write(`${file} is valid now (it changed after Nx read it): run the command again\n`);
} catch (error) {
  if (!(error instanceof InvalidPipelineError)) throw error;
  process.stderr.write(`error: ${error.message}\n  hint: ${error.hint ?? 'fix the file'}\n`);
}
process.exit(1);
