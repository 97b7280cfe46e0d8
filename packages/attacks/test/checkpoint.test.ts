/**
 * The attack checkpoint (`<out>.partial/`) against what can go wrong between two runs: a saved
 * batch damaged on disk is discarded (with those after it) and attacked again, and the output stays
 * byte-identical to an uninterrupted run; batches saved by other code (an upgrade, an edit) are
 * never mixed in.
 */
import { execa } from 'execa';
import { appendFile, copyFile, cp, mkdtemp, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeWorkspaceCopy, removeWorkspace } from '../../../test/helpers/workspace.ts';
import { runAttackStage } from '../src/index.ts';
import { useBackend } from './helpers.ts';
import { SLOW_CONFIG, interruptedRun, makeStageFixture, stderrOf, type StageFixture } from './stage-fixture.ts';

let dir: string;
let fixture: StageFixture;
/** adversarial.arrow of an uninterrupted run. */
let fresh: Buffer;

beforeAll(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'gradsign-checkpoint-'));
  fixture = await makeStageFixture(dir);
  const out = path.join(dir, 'fresh');
  await runAttackStage(SLOW_CONFIG, fixture.bucketsDir, fixture.modelDir, out);
  fresh = await readFile(path.join(out, 'adversarial.arrow'));
}, 180_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const resume = (out: string) => stderrOf(() => runAttackStage(SLOW_CONFIG, fixture.bucketsDir, fixture.modelDir, out));
const output = (out: string) => readFile(path.join(out, 'adversarial.arrow'));

describe('a damaged saved batch', () => {
  let interrupted: string;
  beforeAll(async () => {
    interrupted = path.join(dir, 'interrupted');
    await interruptedRun(fixture, interrupted, 3);
  }, 120_000);

  /** A copy of the interrupted run's checkpoint, for one test to damage. */
  async function copyOfInterrupted(name: string): Promise<string> {
    const out = path.join(dir, name);
    await cp(`${interrupted}.partial`, `${out}.partial`, { recursive: true });
    return out;
  }

  test('a truncated batch is discarded with a warning naming it, attacked again, and the output is byte-identical', async () => {
    const out = await copyOfInterrupted('truncated');
    const damaged = path.join(`${out}.partial`, 'batch-000001.arrow');
    await truncate(damaged, Math.floor((await stat(damaged)).size / 2));
    const logs = await resume(out);
    expect(logs).toContain(`warning: saved batch ${damaged} is damaged`);
    expect(logs).toMatch(/discarding it and the \d+ saved after it; they are attacked again/);
    expect((await output(out)).equals(fresh)).toBe(true);
    await expect(stat(`${out}.partial`)).rejects.toThrow(); // cleaned up once complete
  }, 120_000);

  test('a batch holding other images (a file swapped or overwritten) is discarded the same way', async () => {
    const out = await copyOfInterrupted('swapped');
    const partial = `${out}.partial`;
    // The whole file, checksum included: a valid artifact, but not the images batch 2 must hold.
    for (const suffix of ['', '.sha256']) await copyFile(path.join(partial, `batch-000000.arrow${suffix}`), path.join(partial, `batch-000002.arrow${suffix}`));
    const logs = await resume(out);
    expect(logs).toMatch(/warning: saved batch \S+batch-000002\.arrow is damaged \(its image ids are not those of buckets\.arrow/);
    expect((await output(out)).equals(fresh)).toBe(true);
  }, 120_000);
});

describe('batches saved by other code', () => {
  let ws: string;
  beforeAll(async () => {
    ws = await makeWorkspaceCopy('gradsign-checkpoint-code-');
  }, 120_000);
  afterAll(async () => {
    if (ws) await removeWorkspace(ws);
  });

  test('are discarded after an edit to core or attacks, with a log line saying why', async () => {
    const cli = path.join(ws, 'packages/attacks/bin/gradsign-attacks.js');
    const out = path.join(dir, 'upgraded');
    await interruptedRun(fixture, out, 1, cli);
    await appendFile(path.join(ws, 'packages/core/src/rng.ts'), '\n// an upgrade\n');
    const args = ['--config', JSON.stringify(SLOW_CONFIG), '--buckets', fixture.bucketsDir, '--model', fixture.modelDir, '--out', out];
    const rerun = await execa(process.execPath, [cli, ...args], { reject: false });
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.stderr).not.toMatch(/resuming/);
    expect(rerun.stderr).toContain(`discarding the batches saved in ${out}.partial: the attacks or core code`);
    expect((await output(out)).equals(fresh)).toBe(true);
  }, 180_000);
});
