/** Switching one test process between the wasm and cpu backends (both stay registered). */
import { initWasm, tf } from '@gradsign/core/tf';

export type TestBackend = 'wasm' | 'cpu';
export const TEST_BACKENDS: TestBackend[] = ['cpu', 'wasm'];

let wasmReady: Promise<boolean> | undefined;

export async function useBackend(backend: TestBackend): Promise<void> {
  if (backend === 'wasm' && !(await (wasmReady ??= initWasm()))) throw new Error('wasm backend failed to initialise');
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  await tf.ready();
  tf.enableProdMode();
}
