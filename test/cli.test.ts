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
  const env = { NX_DAEMON: 'false' };
  const nx = (...args: string[]) => execa('npx', ['nx', ...args], { cwd: ws, env, reject: false, all: true });
  let ws: string;
  beforeAll(async () => {
    ws = await makeWorkspaceCopy('gradsign-cli-');
    const bad = { dataset: { kind: 'fashion-mnist' }, model: { kind: 'train' }, attacks: [{ methods: ['fgsm'], gradients: ['inverse'], eps: [-1] }] };
    await writeFile(path.join(ws, 'pipelines/bad.json'), JSON.stringify(bad));
  });
  afterAll(async () => removeWorkspace(ws));

  it('an invalid pipeline file makes Nx fail with the field path', async () => {
    const result = await nx('run', 'pipeline:bad');
    expect(result.exitCode).not.toBe(0);
    // Printed by the target itself, not only by Nx while it builds the graph.
    expect(result.all).toContain('error: invalid pipelines/bad.json:\n  at attacks[0].eps[0]: ε must be > 0\n  hint: fix the field(s) named above');
  }, 60_000);

  it('an invalid pipeline file does not stop the others from planning and running', async () => {
    const projects = await nx('show', 'projects');
    expect(projects.exitCode, projects.all).toBe(0);
    expect(projects.stdout.split('\n')).toEqual(expect.arrayContaining(['smoke-preprocess', 'full-report', 'pipeline']));
    // The broken file is reported while the graph is built, naming the field and the way out.
    expect(projects.all).toMatch(/pipelines\/bad\.json is invalid[^]*at attacks\[0\]\.eps\[0\]: ε must be > 0[^]*npx nx run pipeline:bad/);
    const task = await nx('run', 'smoke-preprocess:run');
    expect(task.exitCode, task.all).toBe(0);
  }, 120_000);
});
