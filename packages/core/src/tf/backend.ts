/**
 * Backend selection. `auto` takes the first that loads of tfjs-node-gpu → webgpu on a hardware
 * adapter → tfjs-node → wasm → cpu. tfjs-node(-gpu) are optional: users on GPU machines install them
 * (README); they are never a dependency, since their install script downloads libtensorflow. webgpu
 * (Dawn's prebuilt bindings) is a dependency; its software adapter is taken only when `webgpu` is
 * asked for by name (webgpu.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GradsignError } from '../errors.ts';
import { log } from '../progress.ts';
import { BACKENDS, type Backend } from '../config.ts';
import { registerGradientFixes } from './gradients/index.ts';
import { registerWasmKernels } from './kernels/registry.ts';
import { describeAdapter, initWebgpu, type WebgpuAdapter } from './webgpu.ts';

const require = createRequire(import.meta.url);

/**
 * The optional native bindings, in order of preference: package, and the backend it resolves to.
 * The Nx plugin's resolve-backend.cjs keeps a plain-JS copy (test/plugin-inputs.test.ts checks it).
 */
export const NATIVE_BINDINGS = [
  ['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'],
  ['@tensorflow/tfjs-node', 'tensorflow'],
] as const;
export type NativeBackend = (typeof NATIVE_BINDINGS)[number][1];
export type ResolvedBackend = NativeBackend | 'webgpu' | 'wasm' | 'cpu';

let active: ResolvedBackend | undefined;
let activeAdapter: WebgpuAdapter | undefined;

/** The webgpu adapter the selected backend runs on, when it is webgpu. */
export function selectedAdapter(): WebgpuAdapter | undefined {
  return active === 'webgpu' ? activeAdapter : undefined;
}

/** A resolved backend as artifacts record it: webgpu with its adapter, e.g. `webgpu (mesa / software / llvmpipe…)`. */
export function describeBackend(backend: ResolvedBackend | string): string {
  const adapter = backend === 'webgpu' ? selectedAdapter() : undefined;
  return adapter ? `webgpu (${describeAdapter(adapter)})` : backend;
}

/** Which optional native binding is installed, without loading it (cheap). */
export function installedNativeBinding(): NativeBackend | undefined {
  for (const [pkg, name] of NATIVE_BINDINGS) {
    try {
      require.resolve(`${pkg}/package.json`);
      return name;
    } catch {
      // not installed
    }
  }
  return undefined;
}

async function tryNative(only?: NativeBackend): Promise<ResolvedBackend | undefined> {
  for (const [pkg, name] of NATIVE_BINDINGS) {
    if (only && name !== only) continue;
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return name;
    } catch {
      // not installed or its native library failed to load: try the next one
    }
  }
  return undefined;
}

export async function initWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
    registerWasmKernels(); // after the import above: replacements wrap its stock kernels
    registerGradientFixes();
    return await tf.setBackend('wasm');
  } catch (error) {
    log(`wasm backend unavailable: ${(error as Error).message}`);
    return false;
  }
}

/**
 * Selects and initialises the backend once per process; `GRADSIGN_BACKEND` overrides `requested`.
 * Logs the choice to stderr.
 */
export async function selectBackend(requested: Backend = 'auto', options: { quiet?: boolean } = {}): Promise<ResolvedBackend> {
  const wanted = (process.env.GRADSIGN_BACKEND as Backend | undefined) || requested;
  if (active) return active;
  let chosen: ResolvedBackend | undefined;
  if (wanted === 'auto') {
    chosen = await tryNative('tensorflow-gpu');
    if (!chosen && (activeAdapter = await initWebgpu({ allowSoftware: false }))) chosen = 'webgpu';
    chosen ??= await tryNative('tensorflow');
  }
  if (wanted === 'tensorflow') chosen = await tryNative();
  if (!chosen && wanted === 'tensorflow') {
    throw new GradsignError('backend "tensorflow" requested but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads', {
      hint: `install one (README, "Backends and GPUs"), or use --backend ${BACKENDS.filter((b) => b !== 'tensorflow').join('|')}`,
    });
  }
  if (wanted === 'webgpu') {
    activeAdapter = await initWebgpu({ allowSoftware: true });
    if (!activeAdapter) {
      throw new GradsignError('backend "webgpu" requested but no WebGPU adapter is available', {
        hint: 'on a machine with a GPU, install its Vulkan driver (README, "Backends and GPUs"); without one, run scripts/prepare-webgpu.sh for the software driver, or use --backend wasm',
      });
    }
    chosen = 'webgpu';
  }
  if (!chosen && (wanted === 'auto' || wanted === 'wasm')) chosen = (await initWasm()) ? 'wasm' : undefined;
  if (!chosen && wanted === 'wasm') {
    throw new GradsignError('backend "wasm" requested but it failed to initialise', { hint: 'use --backend cpu' });
  }
  if (!chosen) {
    // Explicitly: a registered webgpu backend outranks wasm and cpu in tfjs's own choice.
    await tf.setBackend('cpu');
    chosen = 'cpu';
  }
  await tf.ready();
  // Again after a native binding loaded: it may bring its own tfjs-core, whose stock gradients replace ours.
  registerGradientFixes();
  // Production mode: skips debug checks and silences tfjs's "install tfjs-node" banner.
  tf.enableProdMode();
  active = chosen;
  const adapter = chosen === 'webgpu' && activeAdapter ? `, adapter ${describeAdapter(activeAdapter)}` : '';
  if (!options.quiet) log(`backend: ${chosen}${adapter}${wanted !== 'auto' ? ` (requested ${wanted})` : ''}`);
  return chosen;
}

export { tf };
