/**
 * A private copy of the repository for end-to-end tests: the tracked (and untracked, not ignored)
 * files, node_modules linked entry by entry except @gradsign/*, which points at the copy's own
 * packages, so a source change in the copy is what runs; the prepared software Vulkan driver
 * (.webgpu-driver/, git-ignored) linked, so core finds it there as in the repository. Its Nx cache
 * and artifacts are its own.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function makeWorkspaceCopy(prefix = 'gradsign-e2e-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && !f.startsWith('node_modules/'));
  for (const file of files) {
    try {
      await cp(path.join(REPO, file), path.join(dir, file), { recursive: false, preserveTimestamps: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted but not yet committed
    }
  }
  const modules = path.join(dir, 'node_modules');
  await mkdir(path.join(modules, '@gradsign'), { recursive: true });
  for (const entry of await readdir(path.join(REPO, 'node_modules'))) {
    if (entry === '@gradsign') continue;
    await symlink(path.join(REPO, 'node_modules', entry), path.join(modules, entry));
  }
  for (const pkg of await readdir(path.join(REPO, 'node_modules/@gradsign'))) {
    await symlink(path.join(dir, 'packages', pkg), path.join(modules, '@gradsign', pkg));
  }
  const driver = path.join(REPO, '.webgpu-driver');
  if (existsSync(driver)) await symlink(driver, path.join(dir, '.webgpu-driver'));
  return dir;
}

export async function removeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface TaskRecord {
  project: string;
  status: string;
  executed: boolean;
}

/** Runs `nx run pipeline:<name>` in `cwd`; returns what each task did. */
export async function runPipeline(cwd: string, name: string, env: Record<string, string> = {}, args: string[] = []) {
  const summary = path.join(cwd, `.run-summary-${Date.now()}.json`);
  // Static output: every task's log lines, whatever the terminal or CI setting (tests read them).
  const result = await execa('npx', ['nx', 'run', `pipeline:${name}`, '--output-style=static', ...args], {
    cwd,
    env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', GRADSIGN_RUN_SUMMARY: summary, ...env },
    reject: false,
    all: true,
  });
  if (result.exitCode !== 0) throw new Error(`nx run pipeline:${name} failed (${result.exitCode}):\n${result.all}`);
  const tasks = (JSON.parse(readFileSync(summary, 'utf8')) as { tasks: TaskRecord[] }).tasks;
  await rm(summary, { force: true });
  const executed = tasks.filter((t) => t.executed).map((t) => t.project).sort();
  const cached = tasks.filter((t) => !t.executed).map((t) => t.project).sort();
  return { tasks, executed, cached, output: result.all ?? '' };
}

/** sha256 of every file under `dir`, by relative path. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const files = execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  for (const f of files) out[path.relative(dir, f)] = createHash('sha256').update(readFileSync(f)).digest('hex');
  return out;
}
