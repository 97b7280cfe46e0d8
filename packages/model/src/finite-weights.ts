/**
 * Weights that are NaN or ±∞ (a diverged training run, a damaged conversion) make every output and
 * every gradient NaN; the gradient check would then blame model.spec. So they are looked for in the
 * shards first, and named.
 */
import { GradsignError } from '@gradsign/core';
import { weightByteLength, type tf } from '@gradsign/core/tf';

/** How many of a weight's values are not finite; `bytes` is the weight's slice of the shards. */
function nonFiniteValues(spec: tf.io.WeightsManifestEntry, bytes: DataView): number {
  const quantization = spec.quantization;
  let count = 0;
  if (quantization?.dtype === 'float16') {
    for (let i = 0; i < bytes.byteLength; i += 2) if ((bytes.getUint16(i, true) & 0x7c00) === 0x7c00) count++;
  } else if (quantization) {
    // uint8/uint16 steps of `scale` from `min`: finite unless those are not.
    if (!Number.isFinite(quantization.scale ?? 0) || !Number.isFinite(quantization.min ?? 0)) count = bytes.byteLength;
  } else if (spec.dtype === 'float32' || spec.dtype === 'complex64') {
    for (let i = 0; i < bytes.byteLength; i += 4) if (!Number.isFinite(bytes.getFloat32(i, true))) count++;
  }
  return count;
}

const weightBytes = (data: tf.io.WeightData): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data.map((b) => new Uint8Array(b))) : new Uint8Array(data);

/** Throws, naming every weight with NaN or infinite values, how many, and what to do. */
export function checkFiniteWeights(artifacts: tf.io.ModelArtifacts, dir: string): void {
  if (!artifacts.weightData || !artifacts.weightSpecs) return;
  const data = weightBytes(artifacts.weightData);
  const bad: string[] = [];
  let offset = 0;
  for (const spec of artifacts.weightSpecs) {
    const length = weightByteLength(spec);
    if (length === undefined) break; // a string weight: the offsets after it are in its data
    const count = nonFiniteValues(spec, new DataView(data.buffer, data.byteOffset + offset, length));
    if (count) bad.push(`${spec.name} (${count} of ${spec.shape.reduce((a, b) => a * b, 1)} values are NaN or ±∞)`);
    offset += length;
  }
  if (bad.length) {
    throw new GradsignError(`the model in ${dir} has weights that are not finite: ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? `, … (${bad.length} weights)` : ''}`, {
      hint: 'every output and gradient of such a model is NaN: export the weights again from a checkpoint whose weights are finite (a diverged training run, or a damaged conversion)',
    });
  }
}
