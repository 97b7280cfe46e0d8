// Prints a fingerprint of files and folders outside the workspace (dataset, your model, label
// files) for Nx task hashing (runtime input), so a changed input reruns its stage. Paths are taken
// relative to each argument, so the same files give the same fingerprint on every machine. Contents
// are hashed when they total at most 512 MB (a model, Fashion-MNIST); a larger tree (an ImageNet
// folder) is fingerprinted by file sizes and modification times instead, to stay fast.
const { createHash } = require('node:crypto');
const { readdirSync, readFileSync, statSync } = require('node:fs');
const path = require('node:path');

const CONTENT_LIMIT = 512 * 1024 * 1024;

function walk(root) {
  const files = [];
  const visit = (p) => {
    const s = statSync(p, { throwIfNoEntry: false });
    if (!s) return;
    if (s.isDirectory()) for (const entry of readdirSync(p).sort()) visit(path.join(p, entry));
    else files.push({ p, rel: path.relative(root, p), size: s.size, mtime: s.mtimeMs });
  };
  visit(root);
  return files;
}

const hash = createHash('sha256');
for (const arg of process.argv.slice(2)) {
  const root = path.resolve(arg);
  const files = walk(root);
  if (!statSync(root, { throwIfNoEntry: false })) hash.update(`missing ${path.basename(root)}\n`);
  const total = files.reduce((n, f) => n + f.size, 0);
  for (const f of files) {
    const content = total <= CONTENT_LIMIT ? createHash('sha256').update(readFileSync(f.p)).digest('hex') : `mtime ${f.mtime}`;
    hash.update(`${path.basename(root)}/${f.rel} ${f.size} ${content}\n`);
  }
}
process.stdout.write(hash.digest('hex') + '\n');
