// @ts-check
/**
 * gradsign's Nx plugin: every pipelines/<name>.json becomes one Nx project per stage and per attack
 * combination, so each task is hashed on its own options and sources only, plus an aggregate target
 * `pipeline:<name>`. Plain JavaScript (Nx loads plugins before any build); the pipeline schema and its
 * expansion are the TypeScript ones in @gradsign/core, loaded through tsx and memoised on disk
 * (plan-memo.js); each task's npm inputs come from the packages' own package.json (stage-inputs.js).
 * An invalid pipeline file gets no stage projects, only a `pipeline:<name>` target that fails saying
 * why; the other pipelines plan and run as usual.
 */
const { InvalidPipelineError, plan, plannerFingerprint } = require('./plan-memo.js');
const { projectName } = require('./project-names.js');
const { stageInputs } = require('./stage-inputs.js');
const { summarizeRun } = require('./summary.js');
const { warnIfRemoteCacheUnusable } = require('./remote-cache-hint.cjs');
const path = require('node:path');

/** @param {string} s */
function shellQuote(s) {
  return /^[\w./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * @param {(stage: string) => {npm: string[], usesBackend: boolean}} inputsOf
 * @param {string} pipeline @param {any} task @param {Map<string, string>} names
 */
function stageProject(inputsOf, pipeline, task, names) {
  const stage = /** @type {string} */ (task.stage);
  const command = ['node', '--import', 'tsx', `packages/${stage}/src/cli.ts`, ...task.args].map(shellQuote).join(' ');
  const { npm, usesBackend } = inputsOf(stage);
  /** @type {any[]} */
  const inputs = [
    '{workspaceRoot}/packages/core/src/**/*',
    `{workspaceRoot}/packages/${stage}/src/**/*`,
    { dependentTasksOutputFiles: '**/*' },
    { externalDependencies: npm },
  ];
  if (task.externalInputs?.length) {
    // Files outside the workspace (dataset, your model): Nx cannot hash them, so fingerprint them.
    inputs.push({ runtime: ['node', 'packages/nx-plugin/fingerprint.cjs', ...task.externalInputs].map(shellQuote).join(' ') });
  }
  if (usesBackend) {
    // The backend (and WebGPU adapter) the task will really use: GPU and wasm results may differ
    // in the last bits. Per task, so a new backend for the attacks leaves the model's hash alone.
    inputs.push({ env: 'GRADSIGN_BACKEND' }, { runtime: ['node', 'packages/nx-plugin/resolve-backend.cjs', task.backend ?? 'auto'].map(shellQuote).join(' ') });
  }
  return {
    root: `pipelines/${pipeline}/${task.key}`,
    projectType: 'application',
    tags: [`pipeline:${pipeline}`, `stage:${stage}`],
    metadata: { description: `${pipeline}: ${task.key}` },
    targets: {
      run: {
        executor: 'nx:run-commands',
        options: { command, cwd: '{workspaceRoot}' },
        cache: true,
        inputs,
        outputs: [`{workspaceRoot}/${task.outDir}`],
        dependsOn: task.dependsOn.map((/** @type {string} */ key) => ({ projects: [names.get(key)], target: 'run' })),
      },
    },
  };
}

/**
 * The `pipeline:<name>` target of a pipeline file that cannot be planned: it fails, printing core's
 * message (the file and each bad field) again.
 * @param {string} file @param {InvalidPipelineError} error
 */
function invalidPipelineTarget(file, error) {
  return {
    executor: 'nx:run-commands',
    options: { command: ['node', 'packages/nx-plugin/explain-invalid-pipeline.cjs', file].map(shellQuote).join(' '), cwd: '{workspaceRoot}' },
    cache: false,
    metadata: { description: `INVALID, no tasks: ${error.message.split('\n')[0]}` },
  };
}

/** @param {string} file @param {InvalidPipelineError} error */
function warnInvalid(file, error) {
  const name = path.basename(file, '.json');
  process.stderr.write(
    `gradsign: warning: ${file} is invalid, so it has no tasks (the other pipelines are not affected):\n` +
      `  ${error.message.replace(/\n/g, '\n  ')}\n  hint: ${error.hint ?? 'fix the file'}; \`npx nx run pipeline:${name}\` shows this again\n`,
  );
}

/** @type {import('nx/src/project-graph/plugins').CreateNodesV2} */
const createNodes = [
  'pipelines/*.json',
  async (files, _options, context) => {
    /** @type {Record<string, any>} */
    const aggregate = {};
    /** @type {any[]} */
    const results = [];
    // Read once per graph computation, not once per task or file.
    const root = context.workspaceRoot;
    const fingerprint = plannerFingerprint(root);
    /** @type {Map<string, {npm: string[], usesBackend: boolean}>} */
    const inputs = new Map();
    const inputsOf = (/** @type {string} */ stage) => {
      let found = inputs.get(stage);
      if (!found) inputs.set(stage, (found = stageInputs(root, stage)));
      return found;
    };
    for (const file of files) {
      let planned;
      try {
        planned = plan(root, file, fingerprint);
      } catch (error) {
        if (!(error instanceof InvalidPipelineError)) throw error;
        warnInvalid(file, error);
        aggregate[path.basename(file, '.json')] = invalidPipelineTarget(file, error);
        continue;
      }
      const { name, tasks } = planned;
      const names = new Map(tasks.map((/** @type {any} */ t) => [t.key, projectName(name, t)]));
      /** @type {Record<string, any>} */
      const projects = {};
      for (const task of tasks) {
        const project = stageProject(inputsOf, name, task, names);
        projects[project.root] = { name: names.get(task.key), ...project };
      }
      aggregate[name] = {
        executor: 'nx:noop',
        cache: false,
        dependsOn: [{ projects: [names.get('report')], target: 'run' }],
        metadata: { description: `run the whole ${name} pipeline (${tasks.length} tasks)` },
      };
      results.push([file, { projects }]);
    }
    if (files.length) {
      results.push([files[0], { projects: { pipelines: { name: 'pipeline', root: 'pipelines', targets: aggregate } } }]);
    }
    return results;
  },
];

/** @type {import('nx/src/project-graph/plugins').PreTasksExecution} */
async function preTasksExecution(_options, context) {
  await warnIfRemoteCacheUnusable(context);
}

/** @type {import('nx/src/project-graph/plugins').PostTasksExecution} */
async function postTasksExecution(_options, context) {
  summarizeRun(context);
}

module.exports = { name: 'gradsign', createNodes, preTasksExecution, postTasksExecution };
