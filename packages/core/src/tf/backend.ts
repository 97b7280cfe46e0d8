/**
 * Backend selection. `auto` takes the first that loads of tfjs-node-gpu → tfjs-node → wasm → cpu.
 * tfjs-node(-gpu) are optional: users on GPU machines install them (README); they are never a
 * dependency, since their install script downloads libtensorflow.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GradsignError } from '../errors.ts';
import { log } from '../progress.ts';
import { BACKENDS, type Backend } from '../config.ts';
import { registerGradientFixes } from './gradients/index.ts';
import { registerWasmKernels } from './kernels/registry.ts';

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
export type ResolvedBackend = NativeBackend | 'wasm' | 'cpu';

let active: ResolvedBackend | undefined;

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

async function tryNative(): Promise<ResolvedBackend | undefined> {
  for (const [pkg, name] of NATIVE_BINDINGS) {
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
  if (wanted === 'auto' || wanted === 'tensorflow') chosen = await tryNative();
  if (!chosen && wanted === 'tensorflow') {
    throw new GradsignError('backend "tensorflow" requested but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads', {
      hint: `install one (README, "Backends and GPUs"), or use --backend ${BACKENDS.filter((b) => b !== 'tensorflow').join('|')}`,
    });
  }
  if (!chosen && (wanted === 'auto' || wanted === 'wasm')) chosen = (await initWasm()) ? 'wasm' : undefined;
  if (!chosen && wanted === 'wasm') {
    throw new GradsignError('backend "wasm" requested but it failed to initialise', { hint: 'use --backend cpu' });
  }
  if (!chosen) {
    await tf.setBackend('cpu');
    chosen = 'cpu';
  }
  await tf.ready();
  // Again after a native binding loaded: it may bring its own tfjs-core, whose stock gradients replace ours.
  registerGradientFixes();
  // Production mode: skips debug checks and silences tfjs's "install tfjs-node" banner.
  tf.enableProdMode();
  active = chosen;
  if (!options.quiet) log(`backend: ${chosen}${wanted !== 'auto' ? ` (requested ${wanted})` : ''}`);
  return chosen;
}

export { tf };
