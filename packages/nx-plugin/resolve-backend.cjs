// @ts-check
// Prints `<GRADSIGN_BACKEND or auto>:<backend>`, the tfjs backend `auto` really takes here, for Nx
// task hashing (runtime input, run in the workspace root): the first native binding that loads and
// computes (binding-probe.cjs; probed once per install, then a few stat calls), else wasm. Plain JS,
// so NATIVE_BINDINGS is a copy of core's (src/tf/backend.ts); test/plugin-inputs.test.ts (at the
// repository root) fails when the two differ.
const { createRequire } = require('node:module');
const path = require('node:path');
const { bindingLoads } = require('./binding-probe.cjs');

/** The optional native bindings, in order of preference: package, and the backend it resolves to. */
const NATIVE_BINDINGS = [
  ['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'],
  ['@tensorflow/tfjs-node', 'tensorflow'],
];
/** What `auto` takes when no native binding loads (wasm ships with gradsign). */
const WITHOUT_NATIVE = 'wasm';
/** Core imports the bindings from here, so they are resolved from here. */
const CORE_BACKEND_MODULE = 'packages/core/src/tf/backend.ts';

/** @param {string} root the workspace root */
function autoBackend(root) {
  const resolveFrom = createRequire(path.join(root, CORE_BACKEND_MODULE));
  for (const [pkg, name] of NATIVE_BINDINGS) {
    if (bindingLoads(root, resolveFrom, pkg)) return name;
  }
  return WITHOUT_NATIVE;
}

if (require.main === module) {
  process.stdout.write(`${process.env.GRADSIGN_BACKEND || 'auto'}:${autoBackend(path.resolve(__dirname, '../..'))}\n`);
}

module.exports = { NATIVE_BINDINGS, WITHOUT_NATIVE, autoBackend };
