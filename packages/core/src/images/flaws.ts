/**
 * What is wrong with a source file, as written to `rejects.json` and `warnings.json`: a stable
 * category and a deterministic message. Categories:
 *
 * - `missing`, `broken-symlink`, `symlink-loop`, `unreadable`, `not-a-file`: the file cannot be
 *   opened (a listed file that is not there, a link to nothing or to itself, a permission error,
 *   a FIFO/socket/device);
 * - `not-an-image`, `unsupported-format`: not JPEG or PNG;
 * - `corrupt-jpeg`, `corrupt-png`: the decoder gave up (truncated, damaged);
 * - `jpeg-warning`, `png-warning`: the decoder warned but filled the picture in (e.g. corrupt scan
 *   data): read by default, rejected with `"decode": "strict"`;
 * - `outside-class-folder`, `not-a-validation-name`, `no-ground-truth-line`: the layout has no
 *   label for the file.
 */
import { lstat, open, readlink, stat } from 'node:fs/promises';

export interface Flaw {
  category: string;
  reason: string;
}

/** A file turned away, with why (rejects.json). */
export interface Reject extends Flaw {
  /** Path relative to dataset.dir, with '/' separators. */
  file: string;
}

/** A path that reached a file or folder already read (duplicates.json); only the first is used. */
export interface Duplicate {
  file: string;
  sameAs: string;
  kind: 'file' | 'folder';
}

/** An image read in spite of a decoder warning (warnings.json). */
export interface DecodeWarning {
  file: string;
  category: string;
  warning: string;
}

/** A symlink that leads nowhere usable; `code` is the error of following it. */
export function linkFlaw(link: string, code: string): Flaw {
  if (code === 'ELOOP') return { category: 'symlink-loop', reason: `symlink to "${link}" leads back to itself (ELOOP): point it at an image or remove it` };
  if (code === 'ENOENT') return { category: 'broken-symlink', reason: `symlink to "${link}", which does not exist: point it at an image or remove it` };
  return { category: 'unreadable', reason: `symlink to "${link}" cannot be followed (${code})` };
}

/** The entries of a folder that are neither files nor folders, or cannot be looked at. */
export function entryFlaw(kind: 'other' | 'unreadable', code?: string): Flaw {
  return kind === 'other'
    ? { category: 'not-a-file', reason: 'not a regular file (a FIFO, socket or device): remove it from the image folder' }
    : { category: 'unreadable', reason: `cannot be read (${code}): check its permissions` };
}

const MISSING: Flaw = { category: 'missing', reason: 'file not found: fix the ground-truth row or add the file' };

/** Why a path cannot be opened (missing, a broken or looping link, …), or undefined when it can. */
export async function openFlaw(file: string): Promise<Flaw | undefined> {
  const error = await stat(file).then(() => undefined, (e: NodeJS.ErrnoException) => e.code ?? e.message);
  if (error === undefined) return undefined;
  const isLink = await lstat(file).then((s) => s.isSymbolicLink(), () => false);
  if (isLink) return linkFlaw(await readlink(file).catch(() => '?'), error);
  return error === 'ENOENT' ? MISSING : entryFlaw('unreadable', error);
}

export const bySourceFile = <T extends { file: string }>(a: T, b: T) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);

type Signature = 'jpeg' | 'png' | 'other';

/** The format a file's first bytes announce, whatever its name says. */
export async function signatureOf(file: string): Promise<Signature> {
  const head = Buffer.alloc(8);
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return 'other';
  try {
    await handle.read(head, 0, 8, 0);
  } finally {
    await handle.close();
  }
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  return 'other';
}

/**
 * The decoder's own message, first line, without sharp's "Input file (or buffer) has corrupt
 * header:" (sharp says it of any failure while reading metadata, a truncated end included).
 */
export function decoderMessage(error: unknown, signature: Signature): string {
  const first = String((error as Error)?.message ?? error).split('\n')[0]!.trim();
  const own = first.replace(/^Input (?:file|buffer) has corrupt header:\s*/, '').trim();
  return own && own !== 'Unknown error' ? own : `the ${signature === 'other' ? 'image' : signature.toUpperCase()} decoder failed without a message`;
}

/** Why a file could not be decoded at all. */
export function decodeFailure(error: unknown, signature: Signature): Flaw {
  const message = decoderMessage(error, signature);
  if (/Input file is missing/i.test(message)) return MISSING;
  if (signature === 'other' && /unsupported image format/i.test(message)) {
    return { category: 'not-an-image', reason: 'not an image (unrecognised format; JPEG and PNG are read)' };
  }
  return { category: signature === 'other' ? 'unreadable' : `corrupt-${signature}`, reason: message };
}

/** The category of a decoder warning on a file that still decodes. */
export const warningCategory = (signature: Signature) => (signature === 'other' ? 'decode-warning' : `${signature}-warning`);
