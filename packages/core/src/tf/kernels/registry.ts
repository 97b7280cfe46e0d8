/**
 * The one registry of gradsign's kernels:
 *
 *  - replacements of wasm kernels (tfjs-backend-wasm 4.22), `registerWasmKernels()` /
 *    `unregisterWasmKernels()`: each gets the stock kernel it replaces and falls back to it for what
 *    it does not handle (NCHW, non-float32, ...), so it never computes a different result;
 *  - kernels tfjs does not have (the compiled backward pass's), `addKernel()`: for wasm and cpu,
 *    registered by their op on first use.
 *
 * Nothing here loads tfjs-backend-wasm: importing it makes wasm tfjs's default backend before it is
 * initialised, so `initWasm` loads it first and then registers the replacements.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs';
import { batchMatMul } from './batch-mat-mul.ts';
import { conv2DBackpropFilter } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInput } from './conv2d-backprop-input.ts';
import { depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './depthwise-conv2d-backprop.ts';
import { maxPoolGrad } from './max-pool-grad.ts';
import { WASM } from './wasm-backend.ts';

/** A replacement kernel, made from the stock kernel it replaces (undefined where wasm has none). */
export type Replacement = (stock: KernelFunc | undefined) => KernelFunc;

const REPLACEMENTS: Record<string, Replacement> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseConv2dNativeBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseConv2dNativeBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  MaxPoolGrad: maxPoolGrad,
  BatchMatMul: batchMatMul,
};

/** Marks the configs registered here (registration stays idempotent) and keeps the stock config
 * each one replaced, so it can be restored. */
const OURS = Symbol.for('gradsign.wasmKernels.replacedStock');
type OurConfig = KernelConfig & { [OURS]: { stock: KernelConfig | undefined } };

function isOurs(config: KernelConfig | undefined): config is OurConfig {
  return config != null && OURS in config;
}

/**
 * Registers the replacement kernels for the wasm backend. Idempotent. Works before or after the
 * wasm backend is initialised (not before tfjs-backend-wasm is loaded): each replacement's setupFunc
 * runs the stock kernel's setup, which its fallback path relies on.
 */
export function registerWasmKernels(): void {
  if (!getKernel('BatchMatMul', WASM)) throw new Error('load @tensorflow/tfjs-backend-wasm before registering kernel replacements for it');
  for (const [kernelName, replacement] of Object.entries(REPLACEMENTS)) {
    const current = getKernel(kernelName, WASM);
    if (isOurs(current)) continue;
    if (current != null) unregisterKernel(kernelName, WASM);
    const config: OurConfig = {
      kernelName,
      backendName: WASM,
      kernelFunc: replacement(current?.kernelFunc),
      setupFunc: current?.setupFunc,
      disposeFunc: current?.disposeFunc,
      [OURS]: { stock: current },
    };
    registerKernel(config);
  }
}

/** Restores the stock wasm kernels (Conv2DBackpropFilter becomes unregistered again). For
 * benchmarks and tests. */
export function unregisterWasmKernels(): void {
  for (const kernelName of Object.keys(REPLACEMENTS)) {
    const current = getKernel(kernelName, WASM);
    if (!isOurs(current)) continue;
    unregisterKernel(kernelName, WASM);
    const { stock } = current[OURS];
    if (stock != null) registerKernel(stock);
  }
}

const added = new Set<string>();

/** Registers a kernel tfjs does not have, for wasm and cpu. Idempotent; safe before either backend
 * is initialised. */
export function addKernel(kernelName: string, funcs: { wasm: KernelFunc; cpu: KernelFunc }): void {
  if (added.has(kernelName)) return;
  added.add(kernelName);
  for (const backendName of [WASM, 'cpu'] as const) {
    if (!getKernel(kernelName, backendName)) registerKernel({ kernelName, backendName, kernelFunc: funcs[backendName] });
  }
}
