// Prints the tfjs backend `auto` would pick, for Nx task hashing (runtime input): cheap, loads no TF.
let found = 'wasm';
for (const [pkg, name] of [['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'], ['@tensorflow/tfjs-node', 'tensorflow']]) {
  try {
    require.resolve(`${pkg}/package.json`);
    found = name;
    break;
  } catch {}
}
process.stdout.write(`${process.env.GRADSIGN_BACKEND || 'auto'}:${found}\n`);
