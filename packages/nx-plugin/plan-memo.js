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

/** A pipeline file that cannot be planned: `message` names the file and each bad field, `hint` what to do. */
class InvalidPipelineError extends Error {
  /** @param {string} message @param {string | undefined} hint */
  constructor(message, hint) {
    super(message);
    this.name = 'InvalidPipelineError';
    this.hint = hint;
  }
}

/** @param {string} memo @param {unknown} value */
function writeMemo(memo, value) {
  mkdirSync(path.dirname(memo), { recursive: true });
  const tmp = `${memo}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, memo);
}

/**
 * `{ name, tasks }` of pipelines/<name>.json. An invalid file throws InvalidPipelineError, with
 * core's message naming the file and each bad field's path; that answer is memoised too, so a
 * broken file costs the other pipelines' cached reruns nothing.
 * @param {string} root @param {string} file @param {string} fingerprint plannerFingerprint(root)
 */
function plan(root, file, fingerprint = plannerFingerprint(root)) {
  const text = readFileSync(path.join(root, file), 'utf8');
  const key = createHash('sha256').update(file).update('\0').update(text).update('\0').update(fingerprint).digest('hex');
  const memo = path.join(root, MEMO_DIR, `${key}.json`);
  let result;
  try {
    result = JSON.parse(readFileSync(memo, 'utf8'));
  } catch {
    result = planned(root, file, text);
    writeMemo(memo, result);
  }
  if (result.invalid) throw new InvalidPipelineError(result.invalid.message, result.invalid.hint);
  return result;
}

/** Plans through core's TypeScript; a user error (GradsignError) becomes `{ invalid }`. @param {string} root @param {string} file @param {string} text */
function planned(root, file, text) {
  const coreSrc = path.join(root, 'packages/core/src');
  const tsx = require('tsx/cjs/api');
  /** @type {typeof import('../core/src/config.ts')} */
  const config = tsx.require(path.join(coreSrc, 'config.ts'), __filename);
  /** @type {typeof import('../core/src/plan.ts')} */
  const planner = tsx.require(path.join(coreSrc, 'plan.ts'), __filename);
  const name = path.basename(file, '.json');
  try {
    return { name, tasks: planner.planPipeline(name, config.parsePipelineText(text, file)) };
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'GradsignError') throw error;
    return { name, invalid: { message: error.message, hint: /** @type {{hint?: string}} */ (error).hint } };
  }
}

module.exports = { plan, plannerFingerprint, InvalidPipelineError };
