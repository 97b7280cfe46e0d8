/**
 * `batchSize: "auto"` for an attack: the largest batch whose input gradient fits the backend's
 * memory (core's resolveBatchSize), probed once per model topology, backend and gradient path on
 * this machine. With worker threads each worker attacks its slice of a batch in its own heap, so
 * the batch is the per-worker choice times the workers.
 */
import type { Backend, BatchSize } from '@gradsign/core';
import { modelBatchKey, resolveBatchSize, selectBackend, tf } from '@gradsign/core/tf';
import { loadAttackModel } from './load.ts';
import { resolveWorkers, type WorkersOption } from './parallel/pool.ts';

export async function attackBatchSize(configured: BatchSize, modelDir: string, backendRequested: Backend, workers: WorkersOption, images: number): Promise<number> {
  if (configured !== 'auto') return configured;
  const backend = await selectBackend(backendRequested, { quiet: true });
  const count = resolveWorkers(workers, backend);
  const model = await loadAttackModel({ kind: 'dir', dir: modelDir });
  try {
    const { height, width, channels } = model;
    const perWorker = await resolveBatchSize('auto', {
      key: await modelBatchKey(modelDir, `input-gradient/${model.gradientPath}`),
      backend,
      workers: count,
      what: 'the attack gradient',
      images: Math.ceil(images / count),
      step: (b) => tf.tidy(() => model.lossGradient(tf.zeros([b, height, width, channels]), tf.zeros([b], 'int32'))),
    });
    return perWorker * count;
  } finally {
    model.dispose();
  }
}
