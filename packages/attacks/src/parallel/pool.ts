/**
 * Parallel attacks: N worker threads, each with its own tfjs backend and its own copy of the model,
 * attack contiguous slices of every batch; the main thread reassembles them in order. wasm threads
 * do not work in Node, so worker threads are how the attack uses more than one core.
 *
 * Results are byte-identical to the in-process path: every image's result depends on the image,
 * its id and the seed only (per-image RNG streams, per-image gradients), never on which worker or
 * slice it was in. `workers: 1` runs in-process, without threads.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { GradsignError, type Backend, type ResolvedAttack } from '@gradsign/core';
import { selectBackend } from '@gradsign/core/tf';
import { attackBatch, checkClassifierOutput, type AttackBatch, type AttackResult } from '../attack.ts';
import { loadAttackModel, type ModelSource } from '../load.ts';
import { gradientInfo, type AttackModel, type GradientInfo, type GradientOption } from '../model.ts';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.ts';

export type WorkersOption = number | 'auto';

export interface PoolOptions {
  source: ModelSource;
  /** Worker threads; `auto`: one per core (at most 8) on wasm/cpu, in-process on tfjs-node. 1: in-process. Always in-process on webgpu. */
  workers?: WorkersOption;
  /** Requested backend (as in selectBackend); workers use the one it resolves to. */
  backend?: Backend;
  gradient?: GradientOption;
}

export type { AttackResult };

const MAX_AUTO_WORKERS = 8;

/** How many workers `workers` means on a backend. */
export function resolveWorkers(workers: WorkersOption, backend: string): number {
  if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 1)) {
    throw new GradsignError(`workers must be a whole number ≥ 1 or "auto", got ${workers}`, { hint: '1 runs in-process; "auto" uses one per core' });
  }
  // One GPU device per process: each worker would open its own device on the same GPU and compete
  // for it, and the GPU already runs a batch's kernels in parallel. So webgpu attacks in-process.
  if (backend === 'webgpu') return 1;
  if (workers !== 'auto') return workers;
  // tfjs-node runs its kernels on a native thread pool already.
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  return Math.max(1, Math.min(availableParallelism(), MAX_AUTO_WORKERS));
}

function revive(e: SerializedError): Error {
  if (e.name === 'GradsignError') {
    return new GradsignError(e.message, { ...(e.hint !== undefined ? { hint: e.hint } : {}), ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}) });
  }
  const error = new Error(`attack worker: ${e.message}`);
  if (e.stack) error.stack = `${e.stack}\n    (in an attack worker thread)`;
  return error;
}

/** Splits n into k contiguous parts whose sizes differ by at most one (empty parts dropped). */
export function splitSizes(n: number, k: number): number[] {
  const parts = Math.max(1, Math.min(k, n));
  const base = Math.floor(n / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < n % parts ? 1 : 0));
}

function sliceBatch(batch: AttackBatch, start: number, end: number, pixelsPerImage: number): AttackBatch {
  const k = batch.top5.length / Math.max(1, batch.ids.length);
  return {
    ids: batch.ids.slice(start, end),
    labels: batch.labels.slice(start, end),
    top5: batch.top5.slice(start * k, end * k),
    pixels: batch.pixels.slice(start * pixelsPerImage, end * pixelsPerImage),
  };
}

interface Pending {
  resolve(r: AttackResult): void;
  reject(e: Error): void;
}

class WorkerHandle {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private exited = false;
  ready: Promise<FromWorker & { type: 'ready' }>;

  constructor(private readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') return resolve(message);
        if (message.type === 'error' && message.id === undefined) return reject(revive(message.error));
        const task = message.id !== undefined ? this.pending.get(message.id) : undefined;
        if (!task) return;
        this.pending.delete(message.id!);
        if (message.type === 'result') task.resolve({ images: message.images, targets: message.targets, zeroGradient: message.zeroGradient });
        else if (message.type === 'error') task.reject(revive(message.error));
      });
      const fail = (error: Error) => {
        this.failure ??= error;
        reject(error);
        for (const task of this.pending.values()) task.reject(error);
        this.pending.clear();
      };
      worker.on('error', (error) => fail(error instanceof Error ? error : new Error(String(error))));
      worker.on('exit', (code) => {
        this.exited = true;
        if (code !== 0 || this.pending.size > 0) fail(new Error(`attack worker exited with code ${code}`));
      });
    });
    // Unhandled if nobody awaits it yet; create() does.
    this.ready.catch(() => undefined);
  }

  run(attack: ResolvedAttack, batch: AttackBatch, seed: number): Promise<AttackResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const message: ToWorker = { type: 'attack', id, attack, seed, batch };
      this.worker.postMessage(message, [batch.ids.buffer, batch.labels.buffer, batch.top5.buffer, batch.pixels.buffer] as ArrayBuffer[]);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    // A worker that does not exit promptly (e.g. stuck) is terminated.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export class AttackPool {
  private constructor(
    /** Worker threads, or 1 for in-process. */
    readonly workers: number,
    readonly backend: string,
    /** How the workers' model computes gradients (the same in every worker). */
    readonly gradients: GradientInfo,
    private readonly handles: WorkerHandle[],
    private readonly local: AttackModel | undefined,
  ) {}

  /** In-process batches run one after the other: one batch's tensors on the device at a time, as with workers. */
  private localQueue: Promise<unknown> = Promise.resolve();

  static async create(options: PoolOptions): Promise<AttackPool> {
    const backend = await selectBackend(options.backend ?? 'auto', { quiet: true });
    const gradient = options.gradient ?? 'auto';
    const count = resolveWorkers(options.workers ?? 'auto', backend);
    if (count === 1) {
      const model = await loadAttackModel(options.source, gradient);
      try {
        checkClassifierOutput(model);
      } catch (error) {
        model.dispose();
        throw error;
      }
      return new AttackPool(1, backend, gradientInfo(model), [], model);
    }
    // The resolved backend, as a request (tensorflow-gpu is requested as "tensorflow").
    const requested: Backend = backend.startsWith('tensorflow') ? 'tensorflow' : (backend as Backend);
    const init: WorkerInit = { source: options.source, backend: requested, gradient };
    const handles = Array.from(
      { length: count },
      () =>
        new WorkerHandle(
          new Worker(new URL('./worker.mjs', import.meta.url), {
            workerData: init,
            // Workers resolve exactly the backend the main thread did.
            env: { ...process.env, GRADSIGN_BACKEND: requested },
          }),
        ),
    );
    let readies: (FromWorker & { type: 'ready' })[];
    try {
      readies = await Promise.all(handles.map((h) => h.ready));
    } catch (error) {
      await Promise.allSettled(handles.map((h) => h.close()));
      throw error;
    }
    const first = readies[0]!;
    return new AttackPool(count, first.backend, first.gradients, handles, undefined);
  }

  /** Attacks one batch: slices run in parallel, results come back in the batch's order. */
  async run(attack: ResolvedAttack, batch: AttackBatch, seed: number): Promise<AttackResult> {
    if (this.local) {
      const local = this.local;
      const result = this.localQueue.then(() => attackBatch(local, attack, batch, seed));
      this.localQueue = result.catch(() => undefined);
      return result;
    }
    const n = batch.ids.length;
    if (n === 0) return { images: new Float32Array(0), targets: new Int32Array(0), zeroGradient: new Int32Array(0) };
    const pixelsPerImage = batch.pixels.length / n;
    const sizes = splitSizes(n, this.handles.length);
    let start = 0;
    const parts = sizes.map((size, i) => {
      const slice = sliceBatch(batch, start, start + size, pixelsPerImage);
      start += size;
      return this.handles[i]!.run(attack, slice, seed);
    });
    const results = await Promise.all(parts);
    if (results.length === 1) return results[0]!;
    const images = new Float32Array(n * pixelsPerImage);
    const targets = new Int32Array(n);
    const zeroGradient = new Int32Array(n);
    let at = 0;
    for (const r of results) {
      images.set(r.images, at * pixelsPerImage);
      targets.set(r.targets, at);
      zeroGradient.set(r.zeroGradient, at);
      at += r.targets.length;
    }
    return { images, targets, zeroGradient };
  }

  async close(): Promise<void> {
    this.local?.dispose();
    await Promise.all(this.handles.map((h) => h.close()));
  }
}
