/**
 * A hash of the code that decides an attack's bytes: every file under the `src/` of
 * @gradsign/attacks and @gradsign/core, and the installed version of each npm package they declare.
 * It is part of a checkpoint's key, so batches saved before an upgrade are never mixed with batches
 * the new code computes. Computed once per process (about 80 small files).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const WORKSPACE_SCOPE = '@gradsign/';

/** The package directories whose sources and dependencies are hashed. */
function packageDirs(): string[] {
  const attacks = path.resolve(import.meta.dirname, '..');
  const core = path.resolve(path.dirname(createRequire(import.meta.url).resolve('@gradsign/core')), '..');
  return [attacks, core];
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** The version of `name` as Node would resolve it from `fromDir` (nearest node_modules upward). */
async function installedVersion(fromDir: string, name: string): Promise<string> {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const text = await readFile(path.join(dir, 'node_modules', name, 'package.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) return (JSON.parse(text) as { version?: string }).version ?? 'unversioned';
    if (path.dirname(dir) === dir) return 'missing';
  }
}

async function hashPackage(hash: ReturnType<typeof createHash>, dir: string): Promise<void> {
  const src = path.join(dir, 'src');
  for (const file of await filesUnder(src)) {
    hash.update(`${path.relative(src, file)}\0`).update(await readFile(file)).update('\0');
  }
  const { dependencies = {} } = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(dependencies).sort()) {
    if (!name.startsWith(WORKSPACE_SCOPE)) hash.update(`${name}@${await installedVersion(dir, name)}\0`);
  }
}

async function computeCodeHash(dirs: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const dir of dirs) {
    hash.update(`${path.basename(dir)}\0`);
    await hashPackage(hash, dir);
  }
  return hash.digest('hex').slice(0, 16);
}

let memo: Promise<string> | undefined;

/** The hash of the attacks and core code this process runs (computed on first use). */
export function codeHash(): Promise<string> {
  memo ??= computeCodeHash(packageDirs());
  return memo;
}
