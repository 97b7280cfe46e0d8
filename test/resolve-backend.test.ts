/**
 * The backend in every task's cache key (packages/nx-plugin/resolve-backend.cjs, an Nx runtime
 * input) is the one the task really runs on: a native binding counts only when it loads and
 * computes, not merely when it is installed; a WebGPU adapter counts with its description, and
 * for `auto` only when it is hardware. The probes that find out run once per install, not once per
 * hash computation.
 *
 * Each test builds a workspace with the plugin's files and fake @tensorflow/tfjs-node(-gpu) or
 * webgpu packages in its own node_modules, and runs the script as Nx does (`node
 * packages/nx-plugin/resolve-backend.cjs <the stage's backend>` in the workspace root).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { REPO } from './helpers/workspace.ts';

const PLUGIN_FILES = ['resolve-backend.cjs', 'binding-probe.cjs', 'webgpu-probe.cjs', 'probe-memo.cjs'];
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

const resolveBackend = (root: string, env: Record<string, string> = {}, requested?: string) =>
  execFileSync(process.execPath, ['packages/nx-plugin/resolve-backend.cjs', ...(requested ? [requested] : [])], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, GRADSIGN_BACKEND: '', ...env },
  }).trim();

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
    expect(resolveBackend(root, {}, 'wasm')).toBe('wasm:wasm');
    expect(resolveBackend(root, { GRADSIGN_BACKEND: 'cpu' }, 'auto')).toBe('cpu:cpu');
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

/**
 * A workspace where core's real webgpu setup (webgpu.ts, through tsx, with the real tfjs) meets a
 * fake `webgpu` package whose one adapter is `info` (null: none).
 */
function webgpuWorkspace(info: Record<string, string> | null): string {
  const root = workspace();
  for (const file of ['package.json', 'src/tf/webgpu.ts']) cpSync(path.join(REPO, 'packages/core', file), path.join(root, 'packages/core', file));
  mkdirSync(path.join(root, 'node_modules'));
  for (const pkg of ['tsx', '@tensorflow']) symlinkSync(path.join(REPO, 'node_modules', pkg), path.join(root, 'node_modules', pkg));
  installFake(root, 'webgpu', `
    exports.globals = {};
    const info = ${JSON.stringify(info)};
    exports.create = () => ({ requestAdapter: async () => info && { info, features: new Set(), limits: {}, requestDevice: async () => ({}) } });
  `);
  return root;
}

describe('the WebGPU adapter in the cache key', () => {
  const gpu = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA A100' };
  const lavapipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7' };

  test('auto takes a hardware adapter, and says which', () => {
    const root = webgpuWorkspace(gpu);
    expect(resolveBackend(root)).toBe('auto:webgpu nvidia / ampere / NVIDIA A100');
    expect(resolveBackend(root, {}, 'webgpu')).toBe('webgpu:webgpu nvidia / ampere / NVIDIA A100');
  });

  test('auto never takes the software adapter; webgpu by name does', () => {
    const root = webgpuWorkspace(lavapipe);
    expect(resolveBackend(root)).toBe('auto:wasm');
    expect(resolveBackend(root, {}, 'webgpu')).toBe('webgpu:webgpu mesa / software / llvmpipe: Mesa 25.0.7');
    expect(resolveBackend(root, { GRADSIGN_BACKEND: 'webgpu' }, 'wasm')).toBe('webgpu:webgpu mesa / software / llvmpipe: Mesa 25.0.7');
  });

  test('a task on webgpu without an adapter is keyed as such (the task itself fails, saying what to do)', () => {
    expect(resolveBackend(webgpuWorkspace(null), {}, 'webgpu')).toBe('webgpu:none');
  });

  test('is probed once: memoised on what decides it, such as the prepared driver and the Vulkan variables', () => {
    const root = webgpuWorkspace(lavapipe);
    const fake = path.join(root, 'node_modules/webgpu/index.js');
    expect(resolveBackend(root, {}, 'webgpu')).toContain('llvmpipe');
    // The adapter would be another now, but nothing that decides it changed: the memo answers.
    writeFileSync(fake, readFileSync(fake, 'utf8').replace('llvmpipe: Mesa 25.0.7', 'llvmpipe: Mesa 26'));
    expect(resolveBackend(root, {}, 'webgpu')).toContain('Mesa 25.0.7');
    // A driver prepared (or replaced), or another driver forced through the loader's variables: probed again.
    mkdirSync(path.join(root, '.webgpu-driver'));
    writeFileSync(path.join(root, '.webgpu-driver/lvp_icd.json'), '{}');
    expect(resolveBackend(root, {}, 'webgpu')).toContain('Mesa 26');
    writeFileSync(fake, readFileSync(fake, 'utf8').replace('llvmpipe: Mesa 26', 'llvmpipe: Mesa 27'));
    expect(resolveBackend(root, { VK_DRIVER_FILES: '/opt/icd.json' }, 'webgpu')).toContain('Mesa 27');
  });
});
