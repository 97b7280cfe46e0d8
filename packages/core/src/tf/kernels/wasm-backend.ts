/**
 * Helpers for kernels that work on the wasm backend's own memory: call one of its kernels by name,
 * free intermediates, and view a tensor on the wasm heap.
 */
import { getKernel, util, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const WASM = 'wasm';

/** Largest im2col/col2im scratch matrix (float32 elements, 256 MB) before a kernel takes a path
 * without one. */
export const MAX_SCRATCH_ELEMENTS = 1 << 26;

export type KernelArgs = { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap };
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** A WebAssembly.Memory (the project's TypeScript lib set does not declare the WebAssembly API). */
export type WasmMemory = object & { readonly buffer: ArrayBuffer };

export function wasmBackend(backend: {}): BackendWasm {
  return backend as BackendWasm;
}

/** Runs a wasm kernel (stock or registered) by name. */
export function runWasmKernel(backend: BackendWasm, name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
  const config = getKernel(name, WASM);
  if (config == null) throw new Error(`wasm kernel '${name}' is not registered`);
  return config.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function isFloat32(...infos: TensorInfo[]): boolean {
  return infos.every((t) => t.dtype === 'float32');
}

/** Where a tensor's data starts in the wasm memory, in bytes. */
export function heapOffset(backend: BackendWasm, info: TensorInfo): number {
  return backend.dataIdMap.get(info.dataId)!.memoryOffset;
}

/**
 * A Float32Array view of a tensor's data on the wasm heap. Take it only after the last allocation
 * that precedes its use: an allocation may grow the wasm memory, which detaches earlier views.
 */
export function heapF32(backend: BackendWasm, info: TensorInfo): Float32Array {
  const heap = (backend.wasm as unknown as { HEAPF32: Float32Array }).HEAPF32;
  return new Float32Array(heap.buffer, heapOffset(backend, info), util.sizeFromShape(info.shape));
}

/** The wasm backend's WebAssembly.Memory, where the build exposes it. */
export function wasmMemory(backend: BackendWasm): WasmMemory | undefined {
  return (backend.wasm as unknown as { asm?: { memory?: WasmMemory } }).asm?.memory;
}
