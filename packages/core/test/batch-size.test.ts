import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { GradsignError } from '../src/errors.ts';
import { chooseBatchSize, memoisedBatchChoice, probeBatch } from '../src/tf/batch-size.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A step that holds two [b, 1000] float32 tensors at its peak (8 kB per image) beside 1 kB of weights. */
const weights = () => tf.zeros([256]);
const step = (b: number) => tf.tidy(() => tf.add(tf.zeros([b, 1000]), tf.sum(weights())));
const PER_IMAGE = 8000;
const ONE_TENSOR = 4000;

describe('probeBatch', () => {
  it('measures the peak memory of one step, which grows linearly with the batch', async () => {
    const one = await probeBatch(step, 1);
    const four = await probeBatch(step, 4);
    expect(four.peakBytes - one.peakBytes).toBe(3 * PER_IMAGE);
    expect(four.largestTensorBytes).toBe(4 * ONE_TENSOR);
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('chooseBatchSize', () => {
  it('takes the largest power of two whose predicted peak fits the budget', async () => {
    const choice = await chooseBatchSize(step, { budgetBytes: 80_000, maxTensorBytes: Infinity, what: 'test' });
    expect(choice.batchSize).toBe(8); // 16 images would need 128 kB
    expect(choice.limitedBy).toBe('memory');
    const probe = await probeBatch(step, choice.batchSize);
    expect(probe.peakBytes).toBeLessThanOrEqual(80_000);
  });

  it('stops at the cap, at the number of images and at the largest buffer allowed', async () => {
    const big = { budgetBytes: 1e12, maxTensorBytes: Infinity, what: 'test' };
    expect(await chooseBatchSize(step, { ...big, cap: 32 })).toMatchObject({ batchSize: 32, limitedBy: 'cap' });
    expect(await chooseBatchSize(step, { ...big, images: 5 })).toMatchObject({ batchSize: 4, limitedBy: 'images' });
    expect(await chooseBatchSize(step, { ...big, maxTensorBytes: 4 * ONE_TENSOR })).toMatchObject({ batchSize: 4, limitedBy: 'buffer size' });
  });

  it('names the work when not even one image fits', async () => {
    const choice = chooseBatchSize(step, { budgetBytes: 1000, maxTensorBytes: Infinity, what: 'the attack gradient' });
    await expect(choice).rejects.toThrow(GradsignError);
    await expect(chooseBatchSize(step, { budgetBytes: 1000, maxTensorBytes: Infinity, what: 'the attack gradient' })).rejects.toThrow(/one image of the attack gradient needs/);
  });
});

describe('memoisedBatchChoice', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gradsign-batch-'));
    process.env.XDG_CACHE_HOME = dir;
  });
  afterAll(async () => {
    delete process.env.XDG_CACHE_HOME;
    await rm(dir, { recursive: true, force: true });
  });

  it('probes once per key', async () => {
    let probes = 0;
    const choose = async () => {
      probes++;
      return chooseBatchSize(step, { budgetBytes: 80_000, maxTensorBytes: Infinity, what: 'test' });
    };
    const a = await memoisedBatchChoice('model-a', choose);
    const b = await memoisedBatchChoice('model-a', choose);
    expect(b).toEqual(a);
    expect(probes).toBe(1);
    await memoisedBatchChoice('model-b', choose);
    expect(probes).toBe(2);
  });
});
