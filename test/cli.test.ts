/** Every CLI answers --help, and bad input fails with a message that names it, before any work. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, makeWorkspaceCopy, removeWorkspace } from './helpers/workspace.ts';

const stages = ['preprocess', 'model', 'bucketing', 'attacks', 'evaluate', 'report'];

describe('stage CLIs', () => {
  it.each(stages)('%s --help prints usage and exits 0', async (stage) => {
    const result = await execa('node', [path.join(REPO, `packages/${stage}/bin/gradsign-${stage}.js`), '--help']);
    expect(result.stdout).toMatch(new RegExp(`^gradsign-${stage} — `));
    expect(result.stdout).toContain('--config <value>');
    expect(result.stdout).toContain('--out <value>');
  });

  it('rejects an unknown option and a missing one, naming them, with exit code 2', async () => {
    const cli = path.join(REPO, 'packages/attacks/bin/gradsign-attacks.js');
    const unknown = await execa('node', [cli, '--epss', '3'], { reject: false });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/error: gradsign-attacks: Unknown option '--epss'/);
    const missing = await execa('node', [cli, '--config', '{}'], { reject: false });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/missing required option --buckets/);
  });

  it('rejects a bad attack before any work: ε ≤ 0 names the field', async () => {
    const cli = path.join(REPO, 'packages/attacks/bin/gradsign-attacks.js');
    const config = JSON.stringify({ attack: { id: 'x', method: 'fgsm', gradient: 'inverse', eps: -0.1, norm: 'linf' } });
    const result = await execa('node', [cli, '--config', config, '--buckets', '/nonexistent', '--model', '/nonexistent', '--out', '/tmp/never'], { reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/invalid attack config:\n\s+at attack\.eps/);
  });
});

describe('pipeline files', () => {
  let ws: string;
  beforeAll(async () => {
    ws = await makeWorkspaceCopy('gradsign-cli-');
  });
  afterAll(async () => removeWorkspace(ws));

  it('an invalid pipeline file makes Nx fail with the field path', async () => {
    const bad = { dataset: { kind: 'fashion-mnist' }, model: { kind: 'train' }, attacks: [{ methods: ['fgsm'], gradients: ['inverse'], eps: [-1] }] };
    await writeFile(path.join(ws, 'pipelines/bad.json'), JSON.stringify(bad));
    const result = await execa('npx', ['nx', 'run', 'pipeline:bad'], { cwd: ws, env: { NX_DAEMON: 'false' }, reject: false, all: true });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toContain('invalid pipelines/bad.json');
    expect(result.all).toContain('at attacks[0].eps[0]: ε must be > 0');
  }, 60_000);
});
