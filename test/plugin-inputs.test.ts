/**
 * The Nx plugin (packages/nx-plugin): what it hashes must be what the stages really depend on, and
 * its plain-JS copies of core's lists must be core's:
 *
 *  - every package declares exactly the npm packages its sources import (the plugin hashes a
 *    stage's declared dependencies and core's: an undeclared import would be served stale cache
 *    hits when that package changes), and `usesBackend` exactly where a stage imports core's tf;
 *  - the native bindings (resolve-backend.cjs) and the stages (project-names.js) equal core's;
 *  - the plan memo is keyed on content, not mtimes, and a memoised plan (or a memoised invalid
 *    pipeline's error) does not load tsx;
 *  - each task's backend input resolves that task's own backend (per-stage backends).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, test } from 'vitest';
import { BACKEND_STAGES, BACKENDS, STAGES } from '@gradsign/core';
import { NATIVE_BINDINGS } from '@gradsign/core/tf';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PLUGIN = path.join(REPO, 'packages/nx-plugin');
const require = createRequire(path.join(PLUGIN, 'index.js'));
const { stageInputs } = require('./stage-inputs.js') as { stageInputs(root: string, stage: string): { npm: string[]; usesBackend: boolean } };
const resolveBackend = require('./resolve-backend.cjs') as { NATIVE_BINDINGS: string[][]; WITHOUT_NATIVE: string };
const names = require('./project-names.js') as {
  STAGES: string[];
  PER_COMBINATION_STAGES: string[];
  STAGE_PROJECT: RegExp;
  projectName(pipeline: string, task: { stage: string; combination?: string }): string;
  reportPipeline(project: string): string | undefined;
};
const { plannerFingerprint } = require('./plan-memo.js') as { plannerFingerprint(root: string): string };

const packageName = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs|cjs)$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Module specifiers a package's sources import (static, dynamic, require; comments ignored). */
function importsOf(pkg: string): string[] {
  const specs = sourceFiles(path.join(REPO, 'packages', pkg, 'src')).flatMap((file) =>
    ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName),
  );
  return [...new Set(specs)];
}

/** npm and workspace packages a package's sources import. */
const importedPackages = (pkg: string) => [...new Set(importsOf(pkg).filter((s) => !s.startsWith('.') && !isBuiltin(s)).map(packageName))].sort();

const packageJson = (pkg: string) => JSON.parse(readFileSync(path.join(REPO, 'packages', pkg, 'package.json'), 'utf8'));
const withSources = readdirSync(path.join(REPO, 'packages')).filter((p) => readdirSync(path.join(REPO, 'packages', p)).includes('src'));

describe('declared dependencies', () => {
  test.each(withSources)('%s declares exactly what its sources import', (pkg) => {
    expect(Object.keys(packageJson(pkg).dependencies ?? {}).sort()).toEqual(importedPackages(pkg));
  });

  test.each([...STAGES])('%s: usesBackend exactly where it imports @gradsign/core/tf', (stage) => {
    expect(stageInputs(REPO, stage).usesBackend).toBe(importsOf(stage).includes('@gradsign/core/tf'));
  });

  test('the stages that may name a backend in a pipeline file are the ones that run tfjs', () => {
    expect(STAGES.filter((stage) => stageInputs(REPO, stage).usesBackend)).toEqual([...BACKEND_STAGES]);
  });

  test('a stage is hashed on its own npm dependencies and core\'s, not on the workspace packages', () => {
    const core = Object.keys(packageJson('core').dependencies);
    for (const stage of STAGES) {
      const own = importedPackages(stage).filter((p) => !p.startsWith('@gradsign/'));
      expect(stageInputs(REPO, stage).npm).toEqual([...new Set([...own, ...core])].sort());
    }
    expect(stageInputs(REPO, 'report').npm).toEqual(expect.arrayContaining(['sharp', 'vega', 'vega-lite', 'apache-arrow', 'zod']));
  });
});

describe('plain-JS copies of core\'s lists', () => {
  test('resolve-backend.cjs knows core\'s native bindings, and falls back to a backend core knows', () => {
    expect(resolveBackend.NATIVE_BINDINGS).toEqual(NATIVE_BINDINGS.map((b) => [...b]));
    expect(BACKENDS).toContain(resolveBackend.WITHOUT_NATIVE);
  });

  test('project-names.js knows core\'s stages; names and their matcher agree', () => {
    expect([...names.STAGES].sort()).toEqual([...STAGES].sort());
    for (const stage of STAGES) {
      const name = names.projectName('full', { stage, combination: 'fgsm-inverse-eps8-255' });
      expect(name).toMatch(names.STAGE_PROJECT);
      expect(names.reportPipeline(name)).toBe(stage === 'report' ? 'full' : undefined);
    }
    expect(names.projectName('full', { stage: 'attacks', combination: 'x' })).toBe('full-attack-x');
    expect('pipeline').not.toMatch(names.STAGE_PROJECT);
  });
});

describe('the plan memo and the projects', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A workspace with core's planner sources (copied), smoke.json and the repository's node_modules. */
  function workspace(): string {
    const root = mkdtempSync(path.join(os.tmpdir(), 'gradsign-plan-memo-'));
    dirs.push(root);
    cpSync(path.join(REPO, 'packages/core/src'), path.join(root, 'packages/core/src'), { recursive: true });
    mkdirSync(path.join(root, 'pipelines'));
    cpSync(path.join(REPO, 'pipelines/smoke.json'), path.join(root, 'pipelines/smoke.json'));
    symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
    return root;
  }

  test('is keyed on the planner sources\' content, not their mtimes', () => {
    const root = workspace();
    const before = plannerFingerprint(root);
    const errors = path.join(root, 'packages/core/src/errors.ts'); // imported by config.ts and plan.ts
    utimesSync(errors, new Date(), new Date(Date.now() + 60_000));
    expect(plannerFingerprint(root)).toBe(before);
    writeFileSync(errors, readFileSync(errors, 'utf8') + '\n// changed\n');
    expect(plannerFingerprint(root)).not.toBe(before);
  });

  test('a memoised plan is read without loading tsx', () => {
    const root = workspace();
    const script = `
      const { plan } = require(${JSON.stringify(path.join(PLUGIN, 'plan-memo.js'))});
      const { tasks } = plan(${JSON.stringify(root)}, 'pipelines/smoke.json');
      const tsx = Object.keys(require.cache).some((m) => m.includes('/node_modules/tsx/'));
      process.stdout.write(JSON.stringify({ tasks: tasks.length, tsx }));`;
    const run = () => JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { tasks: number; tsx: boolean };
    const first = run();
    expect(first.tsx).toBe(true); // planned through core's TypeScript
    expect(run()).toEqual({ tasks: first.tasks, tsx: false });
  });

  test('an invalid pipeline\'s error is memoised too: it costs a cached rerun no tsx', () => {
    const root = workspace();
    writeFileSync(path.join(root, 'pipelines/broken.json'), JSON.stringify({ dataset: { kind: 'fashion-mnist' }, attacks: [{ methods: ['fgsm'], gradients: ['inverse'], eps: [-1] }] }));
    const script = `
      const { plan, InvalidPipelineError } = require(${JSON.stringify(path.join(PLUGIN, 'plan-memo.js'))});
      let error;
      try { plan(${JSON.stringify(root)}, 'pipelines/broken.json'); } catch (e) { error = e; }
      const tsx = Object.keys(require.cache).some((m) => m.includes('/node_modules/tsx/'));
      process.stdout.write(JSON.stringify({ invalid: error instanceof InvalidPipelineError, message: error.message, hint: error.hint, tsx }));`;
    const run = () => JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { invalid: boolean; message: string; hint: string; tsx: boolean };
    const first = run();
    expect(first).toMatchObject({ invalid: true, tsx: true });
    expect(first.message).toContain('at attacks[0].eps[0]: ε must be > 0');
    expect(run()).toEqual({ ...first, tsx: false });
  });

  test('each task\'s backend input resolves its own stage\'s backend: the model\'s stays the same when the attacks\' changes', async () => {
    const root = workspace();
    for (const pkg of ['core', ...STAGES]) cpSync(path.join(REPO, 'packages', pkg, 'package.json'), path.join(root, 'packages', pkg, 'package.json'));
    const smoke = JSON.parse(readFileSync(path.join(REPO, 'pipelines/smoke.json'), 'utf8'));
    const { createNodes } = require('./index.js') as { createNodes: [string, (files: string[], options: unknown, context: unknown) => Promise<[string, { projects: Record<string, any> }][]>] };
    const projects = async (backend: unknown) => {
      writeFileSync(path.join(root, 'pipelines/smoke.json'), JSON.stringify({ ...smoke, backend }));
      const results = await createNodes[1](['pipelines/smoke.json'], {}, { workspaceRoot: root });
      return Object.fromEntries(Object.values(results[0]![1].projects).map((p) => [p.name, p.targets.run]));
    };
    const runtime = (target: { inputs: unknown[] }) => target.inputs.filter((i): i is { runtime: string } => typeof i === 'object' && i !== null && 'runtime' in i).map((i) => i.runtime);
    const same = await projects('auto');
    const split = await projects({ default: 'auto', attacks: 'webgpu', evaluate: 'webgpu' });
    expect(runtime(split['smoke-model'])).toEqual(['node packages/nx-plugin/resolve-backend.cjs auto']);
    expect(runtime(split['smoke-attack-fgsm-inverse-eps8-255'])).toEqual(['node packages/nx-plugin/resolve-backend.cjs webgpu']);
    expect(runtime(split['smoke-evaluate-fgsm-inverse-eps8-255'])).toEqual(['node packages/nx-plugin/resolve-backend.cjs webgpu']);
    expect(runtime(split['smoke-report'])).toEqual([]);
    for (const name of ['smoke-preprocess', 'smoke-model', 'smoke-bucketing']) expect(split[name]).toEqual(same[name]);
  });
});
