// @ts-check
/**
 * A pipeline's tasks, planned by @gradsign/core (TypeScript, through tsx) and memoised on disk by
 * content: the pipeline file's text, the planner's sources (core's config.ts and plan.ts and the
 * core files they import, transitively) and the versions of the npm packages those import. A
 * cached rerun reads a few small files and never loads tsx; any edit to the planner, or a new zod,
 * plans again (an mtime can stay the same across a change, or change with none).
 */
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const PLANNER_ENTRIES = ['config.ts', 'plan.ts'];
const MEMO_DIR = '.nx/workspace-data/gradsign-plans';

/** `name` of an import specifier: `zod`, `@scope/pkg` (from `@scope/pkg/sub`). @param {string} spec */
const packageOf = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/** @param {string} root @param {string} name */
function installedVersion(root, name) {
  try {
    return JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

/** A hash of everything the planner's result depends on besides the pipeline file. @param {string} root */
function plannerFingerprint(root) {
  const coreSrc = path.join(root, 'packages/core/src');
  const hash = createHash('sha256');
  const queue = [...PLANNER_ENTRIES];
  const seen = new Set();
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(path.join(coreSrc, file), 'utf8');
    hash.update(`${file}\0${text}\0`);
    for (const [, spec] of text.matchAll(/\bfrom\s+'([^']+)'/g)) {
      if (spec.startsWith('.')) queue.push(path.posix.join(path.posix.dirname(file), spec));
      else if (!spec.startsWith('node:')) hash.update(`${packageOf(spec)}@${installedVersion(root, packageOf(spec))}\0`);
    }
  }
  return hash.digest('hex');
}

/**
 * `{ name, tasks }` of pipelines/<name>.json. Throws core's GradsignError naming the file and each
 * bad field's path; Nx shows it.
 * @param {string} root @param {string} file @param {string} fingerprint plannerFingerprint(root)
 */
function plan(root, file, fingerprint = plannerFingerprint(root)) {
  const text = readFileSync(path.join(root, file), 'utf8');
  const key = createHash('sha256').update(file).update('\0').update(text).update('\0').update(fingerprint).digest('hex');
  const memo = path.join(root, MEMO_DIR, `${key}.json`);
  try {
    return JSON.parse(readFileSync(memo, 'utf8'));
  } catch {
    // not memoised yet
  }
  const coreSrc = path.join(root, 'packages/core/src');
  const tsx = require('tsx/cjs/api');
  /** @type {typeof import('../core/src/config.ts')} */
  const config = tsx.require(path.join(coreSrc, 'config.ts'), __filename);
  /** @type {typeof import('../core/src/plan.ts')} */
  const planner = tsx.require(path.join(coreSrc, 'plan.ts'), __filename);
  const name = path.basename(file, '.json');
  const result = { name, tasks: planner.planPipeline(name, config.parsePipelineText(text, file)) };
  mkdirSync(path.dirname(memo), { recursive: true });
  const tmp = `${memo}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(result));
  renameSync(tmp, memo);
  return result;
}

module.exports = { plan, plannerFingerprint };
