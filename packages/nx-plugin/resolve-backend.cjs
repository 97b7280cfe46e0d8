// @ts-check
// Prints `<requested>:<backend>[ <adapter>]`, the tfjs backend a stage task really runs on, for Nx
// task hashing (runtime input `node packages/nx-plugin/resolve-backend.cjs <the stage's backend>`,
// run in the workspace root; GRADSIGN_BACKEND overrides the argument, as in the stages). `auto`
// takes, as core's selectBackend does, the first of: a native binding that loads and computes
// (binding-probe.cjs), tfjs-node-gpu first → a hardware WebGPU adapter (webgpu-probe.cjs) →
// tfjs-node → wasm. `webgpu` named also takes the software adapter. Each probe runs once per
// install, then a few stat calls. Plain JS, so NATIVE_BINDINGS is a copy of core's
// (src/tf/backend.ts); test/plugin-inputs.test.ts (at the repository root) fails when they differ.
const { createRequire } = require('node:module');
const path = require('node:path');
const { bindingLoads } = require('./binding-probe.cjs');
const { webgpuAdapter } = require('./webgpu-probe.cjs');

/** The optional native bindings, in order of preference: package, and the backend it resolves to. */
const NATIVE_BINDINGS = [
  ['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'],
  ['@tensorflow/tfjs-node', 'tensorflow'],
];
/** What `auto` takes when no native binding loads and there is no GPU (wasm ships with gradsign). */
const WITHOUT_NATIVE = 'wasm';
/** Core imports the bindings from here, so they are resolved from here. */
const CORE_BACKEND_MODULE = 'packages/core/src/tf/backend.ts';

/** @param {string} root @param {NodeJS.Require} resolveFrom @param {string[]} names NATIVE_BINDINGS' backends to try */
function nativeBackend(root, resolveFrom, names) {
  return NATIVE_BINDINGS.find(([pkg, name]) => names.includes(name) && bindingLoads(root, resolveFrom, pkg))?.[1];
}

/**
 * The backend (with its adapter, for webgpu) that `requested` resolves to in the workspace `root`.
 * @param {string} root @param {string} requested
 */
function resolveBackend(root, requested) {
  const resolveFrom = createRequire(path.join(root, CORE_BACKEND_MODULE));
  const webgpu = (/** @type {boolean} */ allowSoftware) => {
    const adapter = webgpuAdapter(root, resolveFrom);
    return adapter && (allowSoftware || !adapter.software) ? `webgpu ${adapter.description}` : undefined;
  };
  switch (requested) {
    case 'auto':
      return nativeBackend(root, resolveFrom, ['tensorflow-gpu']) ?? webgpu(false) ?? nativeBackend(root, resolveFrom, ['tensorflow']) ?? WITHOUT_NATIVE;
    case 'tensorflow':
      return nativeBackend(root, resolveFrom, ['tensorflow-gpu', 'tensorflow']) ?? 'none'; // the task fails, saying why
    case 'webgpu':
      return webgpu(true) ?? 'none';
    default:
      return requested; // wasm and cpu ship with gradsign: nothing to probe
  }
}

if (require.main === module) {
  const requested = process.env.GRADSIGN_BACKEND || process.argv[2] || 'auto';
  process.stdout.write(`${requested}:${resolveBackend(path.resolve(__dirname, '../..'), requested)}\n`);
}

module.exports = { NATIVE_BINDINGS, WITHOUT_NATIVE, resolveBackend };
