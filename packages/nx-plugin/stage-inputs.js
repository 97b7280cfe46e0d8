// @ts-check
/**
 * What a stage task's output depends on besides its options and upstream outputs, read from the
 * packages themselves (cheap: two package.json files, no TypeScript):
 *
 *  - its npm dependencies: the `dependencies` of packages/<stage>/package.json and of
 *    packages/core/package.json (every stage runs on core), without the workspace's own packages.
 *    Nx hashes them by installed version. test/plugin-inputs.test.ts (at the repository root)
 *    fails when a package's sources import an npm package it does not declare, so a stage that
 *    gains an import cannot be served a stale cache hit;
 *  - whether its results depend on the tfjs backend: `"gradsign": { "usesBackend": true }`.
 */
const { readFileSync } = require('node:fs');
const path = require('node:path');

const WORKSPACE_SCOPE = '@gradsign/';

/** @param {string} root @param {string} pkg @returns {{dependencies?: Record<string, string>, gradsign?: {usesBackend?: boolean}}} */
function packageJson(root, pkg) {
  return JSON.parse(readFileSync(path.join(root, 'packages', pkg, 'package.json'), 'utf8'));
}

/** The npm packages declared by `pkg` (workspace packages left out), sorted. @param {string} root @param {string} pkg */
function declaredDependencies(root, pkg) {
  return Object.keys(packageJson(root, pkg).dependencies ?? {})
    .filter((name) => !name.startsWith(WORKSPACE_SCOPE))
    .sort();
}

/** @param {string} root @param {string} stage */
function stageInputs(root, stage) {
  const npm = [...new Set([...declaredDependencies(root, stage), ...declaredDependencies(root, 'core')])].sort();
  return { npm, usesBackend: packageJson(root, stage).gradsign?.usesBackend === true };
}

module.exports = { declaredDependencies, stageInputs, WORKSPACE_SCOPE };
