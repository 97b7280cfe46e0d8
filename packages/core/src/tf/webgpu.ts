/**
 * The webgpu backend in Node: Dawn's bindings (npm `webgpu`) provide `navigator.gpu`, and
 * @tensorflow/tfjs-backend-webgpu registers itself at import time only when that exists, so the
 * setup here runs first.
 *
 * Adapters: a hardware GPU through its driver's Vulkan ICD (found by the Vulkan loader in the
 * standard places, or through VK_DRIVER_FILES / VK_ICD_FILENAMES), or Mesa's software rasteriser
 * (lavapipe) that scripts/prepare-webgpu.sh unpacks into .webgpu-driver/ for machines without a GPU.
 * `auto` never takes the software adapter; `webgpu` asked for by name does.
 */
import { existsSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const require = createRequire(import.meta.url);

/** Where scripts/prepare-webgpu.sh puts the software driver (the repository root's .webgpu-driver/). */
export const SOFTWARE_DRIVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../.webgpu-driver');
const DRIVER_LIBS = 'usr/lib/x86_64-linux-gnu';

export interface WebgpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe, SwiftShader): correct, slow, for tests. */
  software: boolean;
}

/** A one-line description of the adapter, for logs and cache keys. */
export function describeAdapter(a: WebgpuAdapter): string {
  return [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' / ');
}

type Gpu = { requestAdapter(options?: object): Promise<GpuAdapter | null> };
type GpuAdapter = {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  requestDevice(descriptor?: { requiredFeatures?: unknown[] }): Promise<unknown>;
};

const SYSTEM_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

/**
 * Makes the prepared software driver visible to the Vulkan loader, beside any hardware driver
 * (VK_ADD_DRIVER_FILES adds to the standard search; VK_ICD_FILENAMES would replace it). When the
 * system has no Vulkan loader, the prepared copy is linked beside dawn.node, where Dawn looks for
 * it: LD_LIBRARY_PATH cannot be changed for a running process.
 */
function useSoftwareDriver(): void {
  const icd = path.join(SOFTWARE_DRIVER_DIR, 'lvp_icd.json');
  if (!existsSync(icd)) return;
  const forced = process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES;
  if (!forced) process.env.VK_ADD_DRIVER_FILES = [icd, process.env.VK_ADD_DRIVER_FILES].filter(Boolean).join(path.delimiter);
  const loader = path.join(SOFTWARE_DRIVER_DIR, DRIVER_LIBS, 'libvulkan.so.1');
  if (!existsSync(loader) || SYSTEM_LOADERS.some((p) => existsSync(p))) return;
  const besideDawn = path.join(path.dirname(require.resolve('webgpu')), 'dist', `${process.platform}-${process.arch}`, 'libvulkan.so.1');
  try {
    if (!existsSync(besideDawn)) symlinkSync(loader, besideDawn);
  } catch {
    // read-only node_modules: Dawn then reports no adapter and the caller says how to fix it
  }
}

function isSoftware(info: GpuAdapter['info']): boolean {
  return Boolean(info.isFallbackAdapter) || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.description} ${info.device}`);
}

let setup: Promise<WebgpuAdapter | undefined> | undefined;
/**
 * Dawn's instance, held for the life of the process: once its JS object is garbage-collected, Dawn
 * frees the instance while its event loop hook still runs, and the process segfaults in
 * InstanceBase::ProcessEvents (seen at random points of long runs on lavapipe).
 */
let instance: Gpu | undefined;

/**
 * Creates `navigator.gpu`, picks an adapter and registers tfjs's webgpu backend for it. Resolves
 * to the adapter, or undefined when there is none this request may use (no GPU, no driver, or only
 * the software one and `allowSoftware` is false). Only the first call's choice counts.
 */
export function setupWebgpu(options: { allowSoftware: boolean }): Promise<WebgpuAdapter | undefined> {
  setup ??= (async () => {
    useSoftwareDriver();
    let webgpu: { create(flags: string[]): Gpu; globals: object };
    try {
      webgpu = require('webgpu');
    } catch {
      return undefined; // the optional bindings are missing for this platform
    }
    const gpu = (instance = webgpu.create([]));
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return undefined;
    const found: WebgpuAdapter = { ...pick(adapter.info), software: isSoftware(adapter.info) };
    if (found.software && !options.allowSoftware) return found;
    Object.assign(globalThis, webgpu.globals);
    // tfjs asks for the adapter itself: hand it the one chosen here, and flatten the nested
    // requiredFeatures array tfjs 4.22 passes (Dawn happens to accept it, the spec does not).
    const chosen: Gpu = {
      requestAdapter: async () => ({
        ...adapter,
        info: adapter.info,
        features: (adapter as unknown as { features: unknown }).features,
        limits: (adapter as unknown as { limits: unknown }).limits,
        requestDevice: (d: { requiredFeatures?: unknown[] } = {}) => adapter.requestDevice({ ...d, requiredFeatures: d.requiredFeatures?.flat() }),
      }) as GpuAdapter,
    };
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav) Object.defineProperty(nav, 'gpu', { value: chosen, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu: chosen }, configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    return found;
  })();
  return setup;
}

function pick(info: GpuAdapter['info']) {
  return { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
}

/**
 * Selects the webgpu backend. tfjs ranks webgpu above wasm, so a failed `setBackend` leaves no
 * usable default behind it: the caller must select its fallback explicitly.
 */
export async function initWebgpu(options: { allowSoftware: boolean }): Promise<WebgpuAdapter | undefined> {
  const adapter = await setupWebgpu(options);
  if (!adapter || (adapter.software && !options.allowSoftware)) return undefined;
  try {
    return (await tf.setBackend('webgpu')) ? adapter : undefined;
  } catch {
    return undefined;
  }
}
