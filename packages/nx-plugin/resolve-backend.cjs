// @ts-check
// Prints the tfjs backend `auto` would pick, for Nx task hashing (runtime input): cheap, loads no TF.
// Plain JS, so NATIVE_BINDINGS is a copy of core's (src/tf/backend.ts); test/plugin-inputs.test.ts
// (at the repository root) fails when the two differ.

/** The optional native bindings, in order of preference: package, and the backend it resolves to. */
const NATIVE_BINDINGS = [
  ['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'],
  ['@tensorflow/tfjs-node', 'tensorflow'],
];
/** What `auto` takes when no native binding is installed (wasm ships with gradsign). */
const WITHOUT_NATIVE = 'wasm';

function autoBackend() {
  for (const [pkg, name] of NATIVE_BINDINGS) {
    try {
      require.resolve(`${pkg}/package.json`);
      return name;
    } catch {}
  }
  return WITHOUT_NATIVE;
}

if (require.main === module) process.stdout.write(`${process.env.GRADSIGN_BACKEND || 'auto'}:${autoBackend()}\n`);

module.exports = { NATIVE_BINDINGS, WITHOUT_NATIVE, autoBackend };
