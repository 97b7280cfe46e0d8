/**
 * The Nx plugin's plain-JS copies of core's lists (packages/nx-plugin) must be core's: the native
 * bindings (resolve-backend.cjs) and the stages (project-names.js).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { BACKENDS, STAGES } from '@gradsign/core';
import { NATIVE_BINDINGS } from '@gradsign/core/tf';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PLUGIN = path.join(REPO, 'packages/nx-plugin');
const require = createRequire(path.join(PLUGIN, 'index.js'));
const resolveBackend = require('./resolve-backend.cjs') as { NATIVE_BINDINGS: string[][]; WITHOUT_NATIVE: string };
const names = require('./project-names.js') as {
  STAGES: string[];
  PER_COMBINATION_STAGES: string[];
  STAGE_PROJECT: RegExp;
  projectName(pipeline: string, task: { stage: string; combination?: string }): string;
  reportPipeline(project: string): string | undefined;
};

describe('plain-JS copies of core\'s lists', () => {
  test('resolve-backend.cjs knows core\'s native bindings, and falls back to a backend core knows', () => {
    expect(resolveBackend.NATIVE_BINDINGS).toEqual(NATIVE_BINDINGS.map((b) => [...b]));
    expect(BACKENDS).toContain(resolveBackend.WITHOUT_NATIVE);
  });

  test('project-names.js knows core\'s stages; names and their matcher agree', () => {
    expect([...names.STAGES].sort()).toEqual([...STAGES].sort());
    for (const stage of STAGES) {
      const name = names.projectName('full', { stage, combination: 'fgsm-inverse-eps0.0314' });
      expect(name).toMatch(names.STAGE_PROJECT);
      expect(names.reportPipeline(name)).toBe(stage === 'report' ? 'full' : undefined);
    }
    expect(names.projectName('full', { stage: 'attacks', combination: 'x' })).toBe('full-attack-x');
    expect('pipeline').not.toMatch(names.STAGE_PROJECT);
  });
});
