/**
 * A pool worker: its own tfjs backend (wasm threads do not work in Node, so each worker thread is
 * one core), the model loaded once, then attacks sub-batches on request. Started by pool.ts
 * through worker.mjs, which registers the TypeScript loader first.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GradsignError } from '@gradsign/core';
import { selectBackend } from '@gradsign/core/tf';
import { attackBatch, checkClassifierOutput } from '../attack.ts';
import { loadAttackModel } from '../load.ts';
import { gradientInfo, type AttackModel } from '../model.ts';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

function serialize(error: unknown): SerializedError {
  if (error instanceof GradsignError) {
    return { name: error.name, message: error.message, ...(error.hint !== undefined ? { hint: error.hint } : {}), exitCode: error.exitCode };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) };
}

const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** A typed array's bytes as a transferable buffer of their own. */
function own<T extends Float32Array | Int32Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

let model: AttackModel | undefined;
try {
  const init = workerData as WorkerInit;
  const backend = await selectBackend(init.backend, { quiet: true });
  model = await loadAttackModel(init.source, init.gradient);
  checkClassifierOutput(model);
  post({ type: 'ready', backend, gradients: gradientInfo(model) });
} catch (error) {
  post({ type: 'error', error: serialize(error) });
}

/** Attacks one request; requests are handled one at a time, in order (see `queue`). */
async function handle(message: ToWorker & { type: 'attack' }): Promise<void> {
  try {
    if (!model) throw new Error('worker has no model');
    const result = await attackBatch(model, message.attack, message.batch, message.seed);
    const [images, targets, zeroGradient] = [own(result.images), own(result.targets), own(result.zeroGradient)];
    post({ type: 'result', id: message.id, images, targets, zeroGradient }, [images.buffer, targets.buffer, zeroGradient.buffer] as ArrayBuffer[]);
  } catch (error) {
    post({ type: 'error', id: message.id, error: serialize(error) });
  }
}

// attackBatch awaits its reads: without a queue a second request would start while the first waits.
let queue = Promise.resolve();
port.on('message', (message: ToWorker) => {
  queue = queue.then(() => {
    if (message.type === 'attack') return handle(message);
    model?.dispose();
    port.close();
  });
});
