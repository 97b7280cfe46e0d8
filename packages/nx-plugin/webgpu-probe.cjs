// @ts-check
/**
 * The WebGPU adapter the stages would get here: core's own setup (packages/core/src/tf/webgpu.ts,
 * which also finds the software driver in .webgpu-driver/) runs in a child process through tsx and
 * prints the adapter. The answer is memoised (probe-memo.cjs) on what decides it: the webgpu
 * package (path, version), core's webgpu.ts, the prepared driver's ICD file, the Vulkan loader's
 * variables, the standard ICD folders (a GPU driver installs its ICD file there) and the dynamic
 * loader's cache; so a cached Nx rerun pays a few stat calls, not a Dawn start.
 */
const { spawnSync } = require('node:child_process');
const { readFileSync, realpathSync } = require('node:fs');
const path = require('node:path');
const { keyOf, mtimeOf, remembered } = require('./probe-memo.cjs');

const MEMO_FILE = '.nx/workspace-data/gradsign-webgpu-probe.json';
const WEBGPU_MODULE = 'packages/core/src/tf/webgpu.ts';
const SOFTWARE_ICD = '.webgpu-driver/lvp_icd.json';
/** Where the Vulkan loader looks for drivers besides its variables (a GPU driver's ICD file lands in one). */
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const VULKAN_VARIABLES = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'VK_ADD_DRIVER_FILES', 'LD_LIBRARY_PATH'];
/** Shaders are not compiled here; starting Dawn and asking for an adapter takes seconds. */
const PROBE_TIMEOUT_MS = 120_000;
const MARK = 'gradsign-adapter:';

/** Run as `node --import tsx -e PROBE <webgpu.ts>`: prints MARK + {description, software} or null. */
const PROBE = `
import(require('node:url').pathToFileURL(process.argv[1]).href)
  .then(async (m) => {
    const a = await m.setupWebgpu({ allowSoftware: false });
    process.stdout.write('${MARK}' + JSON.stringify(a ? { description: m.describeAdapter(a), software: a.software } : null) + '\\n');
    process.exit(0);
  })
  .catch((error) => {
    process.stderr.write(String((error && error.message) || error).split('\\n')[0]);
    process.exit(1);
  });
`;

/** @typedef {{ description: string, software: boolean } | null} Adapter */

/** @param {string} root @param {string} manifest webgpu's package.json */
function adapterKey(root, manifest) {
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  return keyOf([
    realpathSync(manifest), version, readFileSync(path.join(root, WEBGPU_MODULE), 'utf8'),
    mtimeOf(path.join(root, SOFTWARE_ICD)), ...VULKAN_VARIABLES.map((v) => process.env[v] ?? ''),
    ...ICD_DIRS.map(mtimeOf), mtimeOf('/etc/ld.so.cache'), process.platform, process.arch,
  ]);
}

/** @param {string} root @returns {{ adapter: Adapter, reason?: string, timedOut: boolean }} */
function probe(root) {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', PROBE, path.join(root, WEBGPU_MODULE)], {
    cwd: root, encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = child.stdout?.split('\n').find((l) => l.startsWith(MARK));
  if (child.status === 0 && line) return { adapter: JSON.parse(line.slice(MARK.length)), timedOut: false };
  const timedOut = child.error !== undefined;
  const reason = timedOut ? `no answer in ${PROBE_TIMEOUT_MS / 1000} s` : (child.stderr.trim().split('\n').pop() || `exit code ${child.status}`);
  return { adapter: null, reason: reason.slice(0, 500), timedOut };
}

/**
 * The adapter core's webgpu setup finds here (`software`: lavapipe and the like, which `auto`
 * never takes); null when there is none or the webgpu package is missing.
 * @param {string} root the workspace root @param {NodeJS.Require} resolveFrom resolves packages as core does
 * @returns {Adapter}
 */
function webgpuAdapter(root, resolveFrom) {
  let manifest;
  try {
    manifest = resolveFrom.resolve('webgpu/package.json');
  } catch {
    return null;
  }
  return remembered(path.join(root, MEMO_FILE), adapterKey(root, manifest), () => {
    const { timedOut, ...answer } = probe(root);
    return { value: answer, keep: !timedOut };
  }).adapter;
}

module.exports = { webgpuAdapter, MEMO_FILE };
