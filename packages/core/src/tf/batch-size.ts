/**
 * `batchSize: "auto"`: the largest batch whose work fits the backend's memory, measured rather
 * than guessed. A step (a forward pass, or an attack's input gradient) is profiled at two small
 * batch sizes; its peak memory is linear in the batch (the weights are a fixed part, activations
 * and their gradients grow with each image), so the two probes give the per-image and fixed parts,
 * and the batch doubles while the predicted peak stays within the budget, up to a cap. No probe
 * runs near the limit: on wasm a failed allocation aborts the module for good.
 *
 * Results do not depend on the batch size (every image's result depends on the image, its id and
 * the seed only), so choosing it per machine changes speed, never an answer.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GradsignError } from '../errors.ts';
import type { Classifier } from './classifier.ts';

/** wasm32's linear memory ends at 4 GiB, and tfjs-wasm's heap lives in it. */
const WASM_HEAP_BYTES = 4 * 1024 ** 3;
/** WebGPU adapters report no memory size: assume a modest GPU. */
const WEBGPU_BUDGET_BYTES = 2 * 1024 ** 3;
/** Share of the memory a batch may plan to use: headroom for fragmentation and the pipeline's other buffers. */
const SAFETY = 0.5;
/** Past this, bigger batches only add latency and memory. */
export const AUTO_BATCH_CAP = 256;

export interface BatchProbe {
  batch: number;
  peakBytes: number;
  /** The largest single tensor the step allocated (WebGPU caps one buffer's size). */
  largestTensorBytes: number;
}

export interface BatchChoice {
  batchSize: number;
  limitedBy: 'cap' | 'memory' | 'buffer size' | 'images';
  budgetBytes: number;
  probes: BatchProbe[];
}

/** Memory a batch may plan to use on `backend`, and the largest single buffer it may allocate. */
export function memoryBudget(backend: string, workers = 1): { budgetBytes: number; maxTensorBytes: number } {
  if (backend === 'wasm') {
    const used = tf.memory().numBytes;
    return { budgetBytes: SAFETY * Math.max(0, WASM_HEAP_BYTES - used), maxTensorBytes: Number.POSITIVE_INFINITY };
  }
  if (backend === 'webgpu') {
    const limits = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device?.limits;
    return { budgetBytes: SAFETY * WEBGPU_BUDGET_BYTES, maxTensorBytes: limits?.maxStorageBufferBindingSize ?? 128 * 1024 ** 2 };
  }
  // cpu and tfjs-node: the process's share of the machine's memory (workers share it).
  return { budgetBytes: (SAFETY * os.totalmem()) / Math.max(1, workers), maxTensorBytes: Number.POSITIVE_INFINITY };
}

/** Peak bytes and largest tensor of one run of `step(batch)`; what it returns is disposed. */
export async function probeBatch(step: (batch: number) => tf.Tensor | tf.Tensor[], batch: number): Promise<BatchProbe> {
  const info = await tf.profile(() => {
    const out = step(batch);
    for (const t of Array.isArray(out) ? out : [out]) t.dispose();
    return [];
  });
  const largestTensorBytes = Math.max(0, ...info.kernels.map((k) => k.bytesAdded ?? 0));
  return { batch, peakBytes: info.peakBytes, largestTensorBytes };
}

/**
 * The largest power-of-two batch (≤ cap, ≤ images) whose predicted peak fits `budgetBytes`, from
 * probes at batches 1 and 2. `step(b)` must run the work on a batch of b images.
 */
export async function chooseBatchSize(
  step: (batch: number) => tf.Tensor | tf.Tensor[],
  options: { budgetBytes: number; maxTensorBytes: number; cap?: number; images?: number; what: string },
): Promise<BatchChoice> {
  const cap = Math.max(1, Math.min(options.cap ?? AUTO_BATCH_CAP, options.images ?? Number.POSITIVE_INFINITY));
  const probes: BatchProbe[] = [];
  try {
    probes.push(await probeBatch(step, 1));
    if (cap > 1) probes.push(await probeBatch(step, 2));
  } catch (error) {
    throw new GradsignError(`batchSize "auto": ${options.what} failed on a batch of ${probes.length + 1}: ${(error as Error).message}`, {
      hint: 'the model does not fit this backend\'s memory even for one image: try another backend, or set a number for batchSize',
    });
  }
  const [one, two = one] = probes as [BatchProbe, BatchProbe?];
  const perImage = Math.max(1, two.peakBytes - one.peakBytes);
  const fixed = Math.max(0, one.peakBytes - perImage);
  const tensorPerImage = Math.max(1, two.largestTensorBytes / two.batch);
  const fits = (b: number) => fixed + perImage * b <= options.budgetBytes;
  const bufferFits = (b: number) => tensorPerImage * b <= options.maxTensorBytes;
  if (!fits(1) || !bufferFits(1)) {
    throw new GradsignError(`batchSize "auto": one image of ${options.what} needs ${gib(fixed + perImage)} (budget ${gib(options.budgetBytes)})`, {
      hint: 'use a backend with more memory, or set a number for batchSize to try anyway',
    });
  }
  let batch = 1;
  while (batch * 2 <= cap && fits(batch * 2) && bufferFits(batch * 2)) batch *= 2;
  const next = batch * 2;
  const limitedBy: BatchChoice['limitedBy'] =
    next > cap ? (cap === options.images ? 'images' : 'cap') : !bufferFits(next) ? 'buffer size' : 'memory';
  return { batchSize: batch, limitedBy, budgetBytes: options.budgetBytes, probes };
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/** One log line for a choice. */
export function describeBatchChoice(choice: BatchChoice, backend: string): string {
  const [one, two = one] = choice.probes;
  const perImage = two!.peakBytes - one!.peakBytes;
  return `batchSize auto: ${choice.batchSize} on ${backend} (limited by ${choice.limitedBy}; ≈${(perImage / 1024 ** 2).toFixed(1)} MiB per image, budget ${gib(choice.budgetBytes)})`;
}

/**
 * A probe's answer is kept per machine (~/.cache/gradsign/batch-size.json, or $XDG_CACHE_HOME),
 * keyed by everything that decides it, so each task of a pipeline does not probe again.
 */
export async function memoisedBatchChoice(key: string, choose: () => Promise<BatchChoice>): Promise<BatchChoice> {
  const file = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'gradsign', 'batch-size.json');
  let memo: Record<string, BatchChoice> = {};
  try {
    memo = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    // none yet, or unreadable: probe
  }
  if (memo[key]) return memo[key]!;
  const choice = await choose();
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ ...memo, [key]: choice }, null, 2));
    await rename(tmp, file);
  } catch {
    // a read-only home: probe again next time
  }
  return choice;
}

/**
 * The batch size to use: `configured` when it is a number; for "auto", the memoised choice for
 * this work (`key`: what decides its memory — the model's topology, input shape, backend and
 * adapter, the kind of step), probed with `step` when new, and logged either way.
 */
export async function resolveBatchSize(
  configured: number | 'auto',
  work: { key: string; backend: string; what: string; images?: number; workers?: number; step: (batch: number) => tf.Tensor | tf.Tensor[] },
): Promise<number> {
  if (configured !== 'auto') return configured;
  const { budgetBytes, maxTensorBytes } = memoryBudget(work.backend, work.workers);
  const key = `${work.key}|${work.backend}|${Math.round(budgetBytes / 1024 ** 2)}MiB`;
  const choice = await memoisedBatchChoice(key, () =>
    chooseBatchSize(work.step, { budgetBytes, maxTensorBytes, what: work.what, ...(work.images !== undefined ? { images: work.images } : {}) }),
  );
  process.stderr.write(`${describeBatchChoice(choice, work.backend)}\n`);
  return choice.batchSize;
}

/**
 * What decides a model directory's memory per batch: its model.json (topology and weight shapes;
 * the weights' values do not matter) and the kind of step, as a memo key.
 */
export async function modelBatchKey(modelDir: string, step: string): Promise<string> {
  const topology = await readFile(path.join(modelDir, 'model.json'));
  return `${createHash('sha256').update(topology).digest('hex').slice(0, 24)}|${step}`;
}

/** The work of a forward pass (bucketing's clean predictions, evaluate's adversarial ones), for resolveBatchSize. */
export function forwardBatchWork(classifier: Pick<Classifier, 'height' | 'width' | 'channels' | 'logProbs'>, backend: string, key: string) {
  const { height, width, channels } = classifier;
  return { key, backend, what: 'the forward pass', step: (b: number) => tf.tidy(() => classifier.logProbs(tf.zeros([b, height, width, channels]))) };
}
