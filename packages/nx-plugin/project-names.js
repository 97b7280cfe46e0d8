// @ts-check
/**
 * The Nx project name of each stage task of a pipeline: the one definition, used by the plugin, its
 * run summary and scripts/clean.mjs. Plain JS, so the stages are a copy of core's STAGES
 * (src/plan.ts); test/plugin-inputs.test.ts (at the repository root) fails when they differ.
 */

/** Stages with one task per pipeline: `<pipeline>-<stage>`. */
const SINGLE_TASK_STAGES = ['preprocess', 'model', 'bucketing', 'report'];
/** Stages with one task (and one artifacts/<pipeline>/<stage>/<id> folder) per attack combination:
 * `<pipeline>-<prefix>-<id>`. */
const PER_COMBINATION = { attacks: 'attack', evaluate: 'evaluate' };

/** @param {string} pipeline @param {{stage: string, combination?: string}} task */
function projectName(pipeline, task) {
  const prefix = /** @type {Record<string, string>} */ (PER_COMBINATION)[task.stage];
  return prefix ? `${pipeline}-${prefix}-${task.combination}` : `${pipeline}-${task.stage}`;
}

/** Matches the names of pipelines' stage-task projects (and no other project). */
const STAGE_PROJECT = new RegExp(`-(${[...SINGLE_TASK_STAGES, ...Object.values(PER_COMBINATION).map((p) => `${p}-.+`)].join('|')})$`);

const REPORT_SUFFIX = projectName('', { stage: 'report' });

/** The pipeline whose report project this is, or undefined for any other project. */
function reportPipeline(/** @type {string} */ project) {
  return project.endsWith(REPORT_SUFFIX) ? project.slice(0, -REPORT_SUFFIX.length) : undefined;
}

module.exports = {
  STAGES: [...SINGLE_TASK_STAGES, ...Object.keys(PER_COMBINATION)],
  PER_COMBINATION_STAGES: Object.keys(PER_COMBINATION),
  projectName,
  reportPipeline,
  STAGE_PROJECT,
};
