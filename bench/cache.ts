/**
 * `npm run bench -- cache [--json] [--pipeline full] [--runs 5] [--skip-cold]`: the wall time of a
 * cold run of a pipeline and of a cached no-op rerun, both measured in a temporary copy of the
 * repository with its own Nx cache (never the user's), run as a user runs it: a plain
 * `npx nx run pipeline:<name>` with only what the repository commits (e.g. .env).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { makeWorkspaceCopy, removeWorkspace } from '../test/helpers/workspace.ts';

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function timed(cwd: string, pipeline: string): Promise<number> {
  const start = performance.now();
  const env = { ...process.env };
  // What a user's shell has, not what this process inherited from npm/CI.
  for (const key of ['CI', 'NX_DAEMON', 'GRADSIGN_RUN_SUMMARY', 'NX_SELF_HOSTED_REMOTE_CACHE_SERVER']) delete env[key];
  const result = await execa('npx', ['nx', 'run', `pipeline:${pipeline}`], { cwd, env, extendEnv: false, reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`nx run pipeline:${pipeline} failed:\n${result.all}`);
  return (performance.now() - start) / 1000;
}

export async function run(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: { pipeline: { type: 'string', default: 'full' }, runs: { type: 'string', default: '5' }, 'skip-cold': { type: 'boolean', default: false } },
  });
  const pipeline = values.pipeline as string;
  const runs = Number(values.runs);
  const ws = await makeWorkspaceCopy('gradsign-bench-cache-');
  try {
    process.stderr.write(`cache bench: pipeline ${pipeline} in ${ws}\n`);
    const coldSeconds = await timed(ws, pipeline);
    process.stderr.write(`cold run: ${coldSeconds.toFixed(1)} s${values['skip-cold'] ? ' (not reported)' : ''}\n`);
    await timed(ws, pipeline); // warm-up: first cached run (daemon start, file hashes)
    const reruns: number[] = [];
    for (let i = 0; i < runs; i++) {
      reruns.push(await timed(ws, pipeline));
      process.stderr.write(`cached rerun ${i + 1}/${runs}: ${reruns[i]!.toFixed(2)} s\n`);
    }
    const cachedRerunSeconds = median(reruns);
    process.stderr.write(`\ncached no-op rerun of pipeline:${pipeline}: median ${cachedRerunSeconds.toFixed(2)} s (min ${Math.min(...reruns).toFixed(2)}, max ${Math.max(...reruns).toFixed(2)}, ${runs} runs); target ≤ 1.5 s\n`);
    process.stderr.write(`cold run: ${coldSeconds.toFixed(1)} s; ratio cold/cached ${(coldSeconds / cachedRerunSeconds).toFixed(0)}×\n`);
    return { pipeline, cachedRerunSeconds, cachedRerunRuns: reruns, coldSeconds: values['skip-cold'] ? null : coldSeconds };
  } finally {
    await execa('npx', ['nx', 'daemon', '--stop'], { cwd: ws, reject: false });
    await removeWorkspace(ws);
  }
}
