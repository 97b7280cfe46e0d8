// @ts-check
/**
 * Answers of slow probes (a child process loading a native library), memoised in one JSON file
 * under .nx/workspace-data (emptied by `npx nx reset`), keyed by a hash of everything that decides
 * the answer, so a cached Nx rerun pays a few stat calls. Used by binding-probe.cjs (native tfjs
 * bindings) and webgpu-probe.cjs (the WebGPU adapter).
 */
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/** @param {string} file */
const mtimeOf = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;

/** @param {unknown[]} parts @returns {string} a short hash of `parts` */
const keyOf = (parts) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24);

/** @param {string} file @returns {Record<string, any>} */
function readMemo(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

/** @param {string} file @param {Record<string, any>} memo */
function writeMemo(file, memo) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(memo, null, 2));
  renameSync(tmp, file);
}

/**
 * The memoised answer for `key` in `file`, else `probe()`'s, remembered unless it says `keep: false`
 * (a probe that timed out says nothing about the install: ask again next time).
 * @template T
 * @param {string} file @param {string} key @param {() => {value: T, keep: boolean}} probe
 * @returns {T}
 */
function remembered(file, key, probe) {
  const memo = readMemo(file);
  if (key in memo) return memo[key];
  const { value, keep } = probe();
  if (keep) writeMemo(file, { ...readMemo(file), [key]: value });
  return value;
}

module.exports = { keyOf, mtimeOf, remembered };
