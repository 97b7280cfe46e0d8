/**
 * The backend in every task's cache key (packages/nx-plugin/resolve-backend.cjs, an Nx runtime
 * input) is the one the task really runs on: a native binding counts only when it loads and
 * computes, not merely when it is installed. The probe that finds out runs once per install, not
 * once per hash computation.
 *
 * Each test builds a workspace with the plugin's files and fake @tensorflow/tfjs-node(-gpu)
 * packages in its own node_modules, and runs the script as Nx does (`node
 * packages/nx-plugin/resolve-backend.cjs` in the workspace root).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { REPO } from './helpers/workspace.ts';

const PLUGIN_FILES = ['resolve-backend.cjs', 'binding-probe.cjs'];
const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

function workspace(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'gradsign-backend-'));
  roots.push(root);
  mkdirSync(path.join(root, 'packages/nx-plugin'), { recursive: true });
  mkdirSync(path.join(root, 'packages/core/src/tf'), { recursive: true });
  for (const file of PLUGIN_FILES) cpSync(path.join(REPO, 'packages/nx-plugin', file), path.join(root, 'packages/nx-plugin', file));
  return root;
}

/** A binding that installs fine but throws when required, as tfjs-node-gpu does without CUDA. */
const BROKEN = `throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');\n`;
/** A binding that loads and computes (the least of tfjs-node's API the probe uses). */
const WORKING = `
exports.setBackend = async (name) => name === 'tensorflow';
exports.tensor = (values) => ({ add: (n) => ({ dataSync: () => Float32Array.from(values, (v) => v + n) }) });
`;

function installFake(root: string, pkg: string, source: string): string {
  const dir = path.join(root, 'node_modules', pkg);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: pkg, version: '4.22.0', main: 'index.js' }));
  writeFileSync(path.join(dir, 'index.js'), source);
  return dir;
}

const resolveBackend = (root: string, env: Record<string, string> = {}) =>
  execFileSync(process.execPath, ['packages/nx-plugin/resolve-backend.cjs'], { cwd: root, encoding: 'utf8', env: { ...process.env, GRADSIGN_BACKEND: '', ...env } }).trim();

describe('the backend in the cache key', () => {
  test('is wasm when no native binding is installed', () => {
    expect(resolveBackend(workspace())).toBe('auto:wasm');
  });

  test('is not tensorflow-gpu when tfjs-node-gpu is installed but fails to load', () => {
    const root = workspace();
    installFake(root, '@tensorflow/tfjs-node-gpu', BROKEN);
    expect(resolveBackend(root)).toBe('auto:wasm');
  });

  test('is the next binding that loads when the first one does not', () => {
    const root = workspace();
    installFake(root, '@tensorflow/tfjs-node-gpu', BROKEN);
    installFake(root, '@tensorflow/tfjs-node', WORKING);
    expect(resolveBackend(root)).toBe('auto:tensorflow');
  });

  test('is tensorflow-gpu when tfjs-node-gpu loads', () => {
    const root = workspace();
    installFake(root, '@tensorflow/tfjs-node-gpu', WORKING);
    expect(resolveBackend(root)).toBe('auto:tensorflow-gpu');
    expect(resolveBackend(root, { GRADSIGN_BACKEND: 'wasm' })).toBe('wasm:tensorflow-gpu');
  });

  test('is probed once per install: memoised on the package\'s path, version and mtime', () => {
    const root = workspace();
    const dir = installFake(root, '@tensorflow/tfjs-node-gpu', BROKEN);
    const manifest = path.join(dir, 'package.json');
    const installed = new Date(Date.now() - 60_000);
    utimesSync(manifest, installed, installed);
    expect(resolveBackend(root)).toBe('auto:wasm');
    expect(readFileSync(path.join(root, '.nx/workspace-data/gradsign-backend-probe.json'), 'utf8')).toContain('libcudart.so.11.0');

    // The binding would load now, but the install looks the same: the memo answers, no probe runs.
    writeFileSync(path.join(dir, 'index.js'), WORKING);
    utimesSync(manifest, installed, installed);
    expect(resolveBackend(root)).toBe('auto:wasm');

    // A reinstall (a new package.json mtime) is probed again.
    const reinstalled = new Date();
    utimesSync(manifest, reinstalled, reinstalled);
    expect(resolveBackend(root)).toBe('auto:tensorflow-gpu');
  });
});
