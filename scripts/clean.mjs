#!/usr/bin/env node
/**
 * `npm run clean [-- --cache] [-- --all]`: removes artifacts no pipeline produces any more (removed
 * pipelines, combinations dropped from a sweep). --cache also empties Nx's local cache
 * (.nx/cache); --all removes artifacts/ entirely as well.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const { PER_COMBINATION_STAGES, projectName } = createRequire(import.meta.url)('../packages/nx-plugin/project-names.js');

const args = new Set(process.argv.slice(2));
if (args.has('--help') || args.has('-h')) {
  process.stdout.write('usage: npm run clean [-- --cache] [-- --all]\n\n  (default)  remove artifacts of pipelines and combinations that no longer exist\n  --cache    also clear the local Nx cache (.nx/cache); the remote cache is untouched\n  --all      remove artifacts/ entirely and clear the local cache\n');
  process.exit(0);
}
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const artifacts = path.join(root, 'artifacts');

function sizeOf(p) {
  const s = statSync(p);
  return s.isDirectory() ? readdirSync(p).reduce((n, f) => n + sizeOf(path.join(p, f)), 0) : s.size;
}
function remove(p, why) {
  const mb = (sizeOf(p) / 1e6).toFixed(1);
  rmSync(p, { recursive: true, force: true });
  process.stdout.write(`removed ${path.relative(root, p)} (${mb} MB): ${why}\n`);
}

if (args.has('--all')) {
  if (existsSync(artifacts)) remove(artifacts, '--all');
} else if (existsSync(artifacts)) {
  const projects = new Set(
    JSON.parse(execFileSync('npx', ['nx', 'show', 'projects', '--json'], { cwd: root, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false' } })),
  );
  for (const pipeline of readdirSync(artifacts)) {
    const dir = path.join(artifacts, pipeline);
    if (!projects.has(projectName(pipeline, { stage: 'report' }))) {
      remove(dir, `pipelines/${pipeline}.json no longer exists`);
      continue;
    }
    for (const stage of PER_COMBINATION_STAGES) {
      const stageDir = path.join(dir, stage);
      if (!existsSync(stageDir)) continue;
      for (const id of readdirSync(stageDir)) {
        if (!projects.has(projectName(pipeline, { stage, combination: id }))) remove(path.join(stageDir, id), `combination ${id} is no longer in pipelines/${pipeline}.json`);
      }
    }
  }
}
if (args.has('--cache') || args.has('--all')) {
  execFileSync('npx', ['nx', 'reset', '--onlyCache'], { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false' } });
  process.stdout.write('cleared the local Nx cache (.nx/cache)\n');
}
