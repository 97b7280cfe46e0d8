// @ts-check
/**
 * Whether an installed native tfjs binding really works here: it is required in a child process
 * (`node -e`), set as the backend and made to compute a tensor, as core's selectBackend would. An
 * installed package can still fail to load (tfjs-node-gpu without CUDA, a binary built for another
 * Node), and then the stages run on wasm. The answer is memoised per install, in
 * .nx/workspace-data/gradsign-backend-probe.json (emptied by `npx nx reset`), keyed by the package's
 * real path, version and package.json mtime, Node's module ABI, and what the dynamic loader sees
 * (LD_LIBRARY_PATH, /etc/ld.so.cache's mtime, which changes when CUDA is installed), so a cached
 * Nx rerun pays a few stat calls, not a TensorFlow load.
 */
const { spawnSync } = require('node:child_process');
const { readFileSync, realpathSync } = require('node:fs');
const path = require('node:path');
const { keyOf, mtimeOf, remembered } = require('./probe-memo.cjs');

const MEMO_FILE = '.nx/workspace-data/gradsign-backend-probe.json';
/** Loading tfjs-node-gpu initialises CUDA: seconds, not minutes. */
const PROBE_TIMEOUT_MS = 120_000;

/** Run as `node -e PROBE <entry>`: exits 0 only when the binding loads and computes 1+[1,2] = [2,3]. */
const PROBE = `
Promise.resolve()
  .then(async () => {
    const tf = require(process.argv[1]);
    if (!(await tf.setBackend('tensorflow'))) throw new Error('its "tensorflow" backend did not initialise');
    const values = tf.tensor([1, 2]).add(1).dataSync();
    if (values[0] !== 2 || values[1] !== 3) throw new Error('a tensor computed wrong values');
  })
  .catch((error) => {
    process.stderr.write(String((error && error.message) || error).split('\\n')[0]);
    process.exit(1);
  });
`;

/**
 * Everything that decides whether the binding at `manifest` loads, as a short hash.
 * @param {string} manifest the binding's package.json
 */
function installKey(manifest) {
  const { name, version } = JSON.parse(readFileSync(manifest, 'utf8'));
  const parts = [
    realpathSync(manifest), name, version, mtimeOf(manifest),
    process.versions.modules, process.platform, process.arch,
    process.env.LD_LIBRARY_PATH ?? '', mtimeOf('/etc/ld.so.cache'),
  ];
  return keyOf(parts);
}

/** @typedef {{ loads: boolean, package: string, reason?: string }} ProbeResult */

/** @param {string} pkg @param {string} entry the binding's main file @returns {ProbeResult & { timedOut: boolean }} */
function probe(pkg, entry) {
  const child = spawnSync(process.execPath, ['-e', PROBE, entry], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
  const timedOut = child.error !== undefined;
  if (child.status === 0) return { loads: true, package: pkg, timedOut };
  const reason = timedOut ? `no answer in ${PROBE_TIMEOUT_MS / 1000} s` : (child.stderr.trim().split('\n').pop() || `exit code ${child.status}`);
  return { loads: false, package: pkg, reason: reason.slice(0, 500), timedOut };
}

/**
 * Whether the binding `pkg`, resolved by `resolveFrom`, loads and computes; undefined when it is not
 * installed.
 * @param {string} root the workspace root (where the memo lives)
 * @param {NodeJS.Require} resolveFrom a require that resolves packages as core does
 * @param {string} pkg
 * @returns {boolean | undefined}
 */
function bindingLoads(root, resolveFrom, pkg) {
  let manifest;
  let entry;
  try {
    manifest = resolveFrom.resolve(`${pkg}/package.json`);
    entry = resolveFrom.resolve(pkg);
  } catch {
    return undefined;
  }
  const result = remembered(path.join(root, MEMO_FILE), installKey(manifest), () => {
    const { timedOut, ...answer } = probe(pkg, entry);
    return { value: answer, keep: !timedOut };
  });
  return result.loads;
}

module.exports = { bindingLoads, MEMO_FILE };
