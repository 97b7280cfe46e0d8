/**
 * Nx caching semantics on a small pipeline, in a private copy of the repository: each kind of
 * change reruns exactly the tasks it affects (README, "How it works"); artifacts are byte-identical
 * across clean runs.
 */
import { execFileSync } from 'node:child_process';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashTree, makeWorkspaceCopy, removeWorkspace, runPipeline } from './helpers/workspace.ts';

const base = {
  seed: 0,
  batchSize: 64,
  dataset: { kind: 'fashion-mnist', testLimit: 1000 },
  model: { kind: 'train', epochs: 1, batchSize: 64, trainLimit: 2000 },
  buckets: { rule: 'quantile', perBucket: 10 },
  attacks: [
    { methods: ['fgsm'], gradients: ['inverse'], eps: ['8/255'] },
    { methods: ['bim'], gradients: ['least-likely'], eps: ['8/255'] },
  ],
};
const P = 'cachetest';
const stages = (...names: string[]) => names.map((n) => `${P}-${n}`).sort();

let ws: string;
const write = (config: unknown) => writeFile(path.join(ws, `pipelines/${P}.json`), JSON.stringify(config, null, 2));

beforeAll(async () => {
  ws = await makeWorkspaceCopy();
  await write(base);
  const cold = await runPipeline(ws, P);
  expect(cold.executed).toHaveLength(8);
}, 300_000);
afterAll(async () => removeWorkspace(ws));

describe('incremental reruns', () => {
  it('(a) nothing changed → no task executes', async () => {
    const run = await runPipeline(ws, P);
    expect(run.executed).toEqual([]);
  }, 60_000);

  it('(b) one combination\'s ε changed → only that attack, its evaluation and the report', async () => {
    await write({ ...base, attacks: [base.attacks[0], { ...base.attacks[1], eps: ['16/255'] }] });
    const run = await runPipeline(ws, P);
    expect(run.executed).toEqual(stages('attack-bim-least-likely-eps16-255', 'evaluate-bim-least-likely-eps16-255', 'report'));
  }, 120_000);

  it('(c) a combination added → only its attack, its evaluation and the report', async () => {
    await write({ ...base, attacks: [...base.attacks.slice(0, 1), { ...base.attacks[1], eps: ['16/255'] }, { methods: ['fgsm'], gradients: ['least-likely'], eps: ['8/255'] }] });
    const run = await runPipeline(ws, P);
    expect(run.executed).toEqual(stages('attack-fgsm-least-likely-eps8-255', 'evaluate-fgsm-least-likely-eps8-255', 'report'));
    await write(base);
    // Back to the first configuration: its report is still in the cache.
    expect((await runPipeline(ws, P)).executed).toEqual([]);
  }, 180_000);

  it('(d) attacks source changed without changing outputs → every attack executes, nothing downstream', async () => {
    await appendFile(path.join(ws, 'packages/attacks/src/base.ts'), '\n// a comment changes the source hash, not the output\n');
    const run = await runPipeline(ws, P);
    expect(run.executed).toEqual(stages('attack-bim-least-likely-eps8-255', 'attack-fgsm-inverse-eps8-255'));
    expect(run.cached).toContain(`${P}-model`);
  }, 120_000);

  it('(d) attacks source changed so that FGSM outputs change → only FGSM\'s evaluation and the report follow', async () => {
    const file = path.join(ws, 'packages/attacks/src/methods/fgsm.ts');
    const source = await readFile(file, 'utf8');
    const step = 'gradientStep(ctx, x, ctx.eps)';
    expect(source).toContain(step);
    await writeFile(file, source.replace(step, 'gradientStep(ctx, x, ctx.eps / 2)'));
    const run = await runPipeline(ws, P);
    expect(run.executed).toEqual(
      stages('attack-bim-least-likely-eps8-255', 'attack-fgsm-inverse-eps8-255', 'evaluate-fgsm-inverse-eps8-255', 'report'),
    );
    await writeFile(file, source);
  }, 120_000);

  it('(e) perBucket changed → bucketing and everything downstream; preprocess and model from cache', async () => {
    await write({ ...base, buckets: { ...base.buckets, perBucket: 12 } });
    const run = await runPipeline(ws, P);
    expect(run.cached).toEqual(stages('preprocess', 'model'));
    expect(run.executed).toHaveLength(6);
    await write(base);
  }, 180_000);

  it('produces byte-identical artifacts when every task is recomputed from scratch', async () => {
    // Start from this pipeline's outputs only (earlier steps left other combinations' directories).
    await rm(path.join(ws, 'artifacts'), { recursive: true, force: true });
    await runPipeline(ws, P);
    const before = hashTree(path.join(ws, 'artifacts', P));
    await rm(path.join(ws, 'artifacts'), { recursive: true, force: true });
    const again = await runPipeline(ws, P, {}, ['--skip-nx-cache']);
    expect(again.executed).toHaveLength(8);
    expect(hashTree(path.join(ws, 'artifacts', P))).toEqual(before);
    expect(Object.keys(before).filter((f) => f.endsWith('.arrow')).length).toBeGreaterThanOrEqual(7);
  }, 300_000);

  it('(f) a damaged artifact in the Nx cache: the task that reads it names the file and the way out (npx nx reset), which works', async () => {
    // Every cached copy of this pipeline's buckets.arrow gets one flipped bit.
    const cached = execFileSync('find', [path.join(ws, '.nx/cache'), '-path', `*/artifacts/${P}/bucketing/buckets.arrow`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(cached.length).toBeGreaterThan(0);
    for (const file of cached) {
      const bytes = await readFile(file);
      bytes[Math.floor(bytes.length / 2)]! ^= 1;
      await writeFile(file, bytes);
    }
    await rm(path.join(ws, 'artifacts'), { recursive: true, force: true });
    // A new ε: that attack runs, reading buckets.arrow restored from the damaged cache entry.
    const changed = { ...base, attacks: [base.attacks[0], { ...base.attacks[1], eps: ['12/255'] }] };
    await write(changed);
    const failure = (await runPipeline(ws, P).catch((error: unknown) => error)) as Error;
    expect(failure).toBeInstanceOf(Error);
    expect(failure.message).toMatch(/buckets\.arrow is damaged: its sha256 is/);
    expect(failure.message).toMatch(/npx nx reset/);
    await execa('npx', ['nx', 'reset'], { cwd: ws, env: { NX_DAEMON: 'false' } });
    const recovered = await runPipeline(ws, P);
    expect(recovered.executed).toHaveLength(8);
    await write(base);
  }, 300_000);
});
