// Prints a fingerprint of files and folders outside the workspace (dataset, your model, label
// files) for Nx task hashing (runtime input), so a changed input reruns its stage. Paths are taken
// relative to each argument, so the same files give the same fingerprint on every machine. Contents
// are hashed when they total at most 512 MB (a model, Fashion-MNIST); a larger tree (an ImageNet
// folder) is fingerprinted by file sizes and modification times instead, to stay fast.
//
// Nx hashes whatever this prints and ignores the exit status, so a crash would be a fixed input and
// every later change would be served from the cache. Hence nothing here may throw: a broken or
// looping symlink is fingerprinted by its link text, a folder reached a second time (a link back up
// the tree) by its link text and is not read again, anything unreadable by its error code, and a
// FIFO, socket or device by its kind (reading a FIFO would hang). Should anything still go wrong,
// the fingerprint is random, so the task reruns rather than being served stale.
const { createHash, randomBytes } = require('node:crypto');
const { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } = require('node:fs');
const path = require('node:path');

const CONTENT_LIMIT = 512 * 1024 * 1024;

/** `fn()`, or the error's code (`ELOOP`, `EACCES`, …) when it throws. */
function attempt(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: error.code ?? error.message };
  }
}

const kindOf = (s) => (s.isFIFO() ? 'fifo' : s.isSocket() ? 'socket' : s.isCharacterDevice() || s.isBlockDevice() ? 'device' : 'other');

/**
 * The tree under `root`: regular files (hashed by the caller) and `notes`, one line for each thing
 * that is not a regular file to read (a link that leads nowhere, a folder read before, an error).
 */
function walk(root) {
  const files = [];
  const notes = [];
  const readFolders = new Set();
  const visit = (p) => {
    const rel = path.relative(root, p);
    const own = attempt(() => lstatSync(p));
    if (own.error) return rel ? notes.push(`unreadable ${rel} ${own.error}`) : undefined; // a missing root is noted by the caller
    const link = own.value.isSymbolicLink() ? attempt(() => readlinkSync(p)).value : undefined;
    const target = link === undefined ? own : attempt(() => statSync(p));
    if (target.error) return notes.push(`link ${rel} -> ${link} (${target.error})`);
    const s = target.value;
    if (s.isDirectory()) {
      const real = attempt(() => realpathSync(p));
      if (real.error) return notes.push(`unreadable ${rel} ${real.error}`);
      if (readFolders.has(real.value)) return notes.push(`link ${rel} -> ${link} (folder already read)`);
      readFolders.add(real.value);
      const entries = attempt(() => readdirSync(p).sort());
      if (entries.error) return notes.push(`unreadable ${rel} ${entries.error}`);
      for (const entry of entries.value) visit(path.join(p, entry));
    } else if (s.isFile()) files.push({ p, rel, size: s.size, mtime: s.mtimeMs });
    else notes.push(`${kindOf(s)} ${rel}`);
  };
  visit(root);
  return { files, notes };
}

function contentOf(file) {
  const bytes = attempt(() => readFileSync(file));
  return bytes.error ? `unreadable ${bytes.error}` : createHash('sha256').update(bytes.value).digest('hex');
}

function fingerprint(args) {
  const hash = createHash('sha256');
  for (const arg of args) {
    const root = path.resolve(arg);
    const name = path.basename(root);
    const { files, notes } = walk(root);
    if (!attempt(() => lstatSync(root)).value) hash.update(`missing ${name}\n`);
    const total = files.reduce((n, f) => n + f.size, 0);
    for (const f of files) hash.update(`${name}/${f.rel} ${f.size} ${total <= CONTENT_LIMIT ? contentOf(f.p) : `mtime ${f.mtime}`}\n`);
    for (const note of notes) hash.update(`${name}: ${note}\n`);
  }
  return hash.digest('hex');
}

try {
  process.stdout.write(fingerprint(process.argv.slice(2)) + '\n');
} catch (error) {
  process.stderr.write(`gradsign fingerprint.cjs failed (${error.stack}); this task will not be served from the cache\n`);
  process.stdout.write(randomBytes(32).toString('hex') + '\n');
}
