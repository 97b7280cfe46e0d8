/**
 * The attack engine's library API: validate and resolve an attack once, then run it on batches of
 * [0,1] images. Foolbox-style: the classifier owns normalisation; the attack sees pixels only.
 */
import { AttackSpec, GradsignError, Rng, combinationId, parseWith, toUnitFloat, type ResolvedAttack } from '@gradsign/core';
import { tf, zeroCounts, type Classifier } from '@gradsign/core/tf';
import { linfBox, type AttackContext } from './base.ts';
import { METHOD_REGISTRY } from './methods/index.ts';
import { asAttackModel, type AttackModel, type ForwardPass } from './model.ts';
import { targetStrategy } from './targets/index.ts';

export type { AttackSpec } from '@gradsign/core';

/**
 * Validates an attack (core's AttackSpec: one set of rules and messages) against the model, and
 * fills in its paper defaults; throws before any work. A combination keeps its own id.
 */
export function resolveAttack(spec: AttackSpec & { id?: string }, numClasses: number, id = spec.id): ResolvedAttack {
  const { id: _, ...attack } = spec;
  const valid = parseWith(AttackSpec, attack, 'attack');
  const strategy = targetStrategy(valid.gradient, numClasses);
  const method = METHOD_REGISTRY[valid.method];
  const params = method.resolve(valid.eps, valid.norm, { steps: valid.steps, alpha: valid.alpha, momentum: valid.momentum });
  return {
    id: id ?? combinationId(valid),
    method: valid.method,
    gradient: valid.gradient,
    eps: valid.eps,
    norm: valid.norm,
    ...(valid.momentum !== undefined || valid.method === 'mifgsm' ? { momentum: params.momentum } : {}),
    targeted: strategy.targeted,
    steps: params.steps,
    alpha: params.alpha,
  };
}

export interface AttackBatch {
  ids: Int32Array;
  labels: Int32Array;
  /** Clean top-5 classes [n·5] (for the least-likely target). */
  top5: Int32Array;
  /** Clean images, flat NHWC: 8-bit (0–255), or float32 in [0,1]. 8-bit pixels are what the stage
   * sends to worker threads (a quarter of the bytes), converted where they are attacked. */
  pixels: Uint8Array | Float32Array;
}

/** Uniform numbers for each image from its own seeded stream, so results do not depend on batching. */
function perImageUniform(ids: Int32Array, seed: number) {
  return (size: number) => {
    const out = new Float32Array(ids.length * size);
    ids.forEach((id, i) => {
      const rng = new Rng(seed, 1_000_000 + id);
      for (let j = 0; j < size; j++) out[i * size + j] = rng.next();
    });
    return out;
  };
}

export interface AttackBatchOptions {
  /** Called after every step with the current images (tests, tracing). */
  onStep?: (step: number, images: tf.Tensor4D) => void;
}

/** What one batch's attack gives back, per image. */
export interface AttackResult {
  /** The adversarial images, flat NHWC float32 in [0,1]. */
  images: Float32Array;
  /** The class whose loss drove the gradient. */
  targets: Int32Array;
  /** Pixel values whose gradient was exactly zero at the first step (gradient-masking diagnostic). */
  zeroGradient: Int32Array;
}

/**
 * Runs one resolved attack on a batch. Every image's result depends on that image, its id and the
 * seed only — not on the batch it is in. Reads values back only asynchronously (webgpu has no
 * synchronous read in Node; on wasm and cpu the bytes are the same as a synchronous read's).
 */
export async function attackBatch(
  model: AttackModel | Classifier,
  attack: ResolvedAttack,
  batch: AttackBatch,
  seed: number,
  options: AttackBatchOptions = {},
): Promise<AttackResult> {
  const m = asAttackModel(model);
  const n = batch.ids.length;
  if (n === 0) return { images: new Float32Array(0), targets: new Int32Array(0), zeroGradient: new Int32Array(0) };
  const strategy = targetStrategy(attack.gradient, m.numClasses);
  const x0 = tf.tensor4d(toUnitFloat(batch.pixels), [n, m.height, m.width, m.channels]);
  // A strategy that reads the clean prediction gets it from a forward pass whose activations the
  // first gradient then reuses (one forward pass, not two, on the compiled path).
  let pass: ForwardPass | undefined;
  let targetTensor: tf.Tensor1D | undefined;
  let box: [tf.Tensor4D, tf.Tensor4D] | undefined;
  // Counted on the device at the first step, read once the attack is done.
  let zeroCountsAtFirstStep: tf.Tensor1D | undefined;
  try {
    let cleanLogProbs: Float32Array | undefined;
    if (strategy.needsCleanLogProbs) {
      pass = m.forward(x0);
      cleanLogProbs = (await pass.logProbs.data()) as Float32Array;
    }
    const targets = strategy.choose({ ids: batch.ids, labels: batch.labels, top5: batch.top5, numClasses: m.numClasses, seed, cleanLogProbs });
    const targetIds = (targetTensor = tf.tensor1d(targets, 'int32'));
    const firstStepGradient = (g: tf.Tensor4D) => {
      zeroCountsAtFirstStep ??= tf.keep(zeroCounts(g));
      return g;
    };
    const ctx: AttackContext = {
      x0,
      direction: attack.targeted ? -1 : 1,
      eps: attack.eps,
      norm: attack.norm,
      // Made on first use, possibly inside a method's tidy: kept until the batch is done.
      box: () => (box ??= linfBox(x0, attack.eps).map((t) => tf.keep(t)) as [tf.Tensor4D, tf.Tensor4D]),
      gradient(x) {
        if (pass && x === x0) {
          const g = pass.backward(targetIds);
          pass.dispose();
          pass = undefined;
          return firstStepGradient(g);
        }
        return firstStepGradient(m.lossGradient(x, targetIds));
      },
      uniform: perImageUniform(batch.ids, seed),
      ...(options.onStep ? { onStep: options.onStep } : {}),
    };
    const method = METHOD_REGISTRY[attack.method];
    const adversarial = method.perturb(ctx, { steps: attack.steps, alpha: attack.alpha, momentum: attack.momentum });
    // data() copies out of the wasm heap; on cpu it hands over the backend's own array, which
    // stays valid after the tensor is disposed.
    const images = (await adversarial.data().finally(() => adversarial.dispose())) as Float32Array;
    const zeroGradient = zeroCountsAtFirstStep ? ((await zeroCountsAtFirstStep.data()) as Int32Array) : new Int32Array(n);
    return { images, targets, zeroGradient };
  } finally {
    pass?.dispose();
    tf.dispose([x0, targetTensor, ...(box ?? []), zeroCountsAtFirstStep]);
  }
}

/** Fails before any work when the model does not output [batch, classes]. */
export function checkClassifierOutput(classifier: Classifier | AttackModel): void {
  const probe = tf.zeros([2, classifier.height, classifier.width, classifier.channels]) as tf.Tensor4D;
  let shape: number[];
  try {
    const out = classifier.logProbs(probe);
    shape = out.shape;
    out.dispose();
  } catch (error) {
    throw new GradsignError(`the model failed on a [2, ${classifier.height}, ${classifier.width}, ${classifier.channels}] input: ${(error as Error).message}`, {
      hint: 'check the model spec (input size, channels) against the model',
    });
  } finally {
    probe.dispose();
  }
  if (shape.length !== 2 || shape[0] !== 2 || shape[1] !== classifier.numClasses) {
    throw new GradsignError(`the model outputs shape [${shape}], expected [batch, ${classifier.numClasses}]`, {
      hint: 'the model must end in a [batch, classes] logits or probabilities layer; check labelOffset and the label file',
    });
  }
}
