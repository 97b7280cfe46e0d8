/**
 * A full disk, a read-only file system or a permission refused: errors the user fixes outside
 * gradsign. Each becomes one GradsignError that names the path, instead of a stack (or, when it
 * escaped as an unhandled rejection, tfjs-wasm's dump of its own source).
 */
import { GradsignError } from './errors.ts';

const REASONS: Record<string, { what: string; hint: string }> = {
  ENOSPC: { what: 'no space left on the device', hint: 'free disk space (artifacts/ and the Nx cache in .nx/cache hold the outputs: `npm run clean -- --cache` empties the cache), then rerun' },
  EDQUOT: { what: 'disk quota exceeded', hint: 'free space within your quota (see `npm run clean -- --cache`), then rerun' },
  EROFS: { what: 'read-only file system', hint: 'run from a writable checkout (artifacts/ and .nx/cache are written next to pipelines/)' },
  EACCES: { what: 'permission denied', hint: 'make the folder writable for this user, or run from a checkout you own' },
  EPERM: { what: 'operation not permitted', hint: 'make the folder writable for this user, or run from a checkout you own' },
};

/** A file-system failure explained: `message` names the path; the stage CLI adds its own name. */
export class FileSystemError extends GradsignError {
  override readonly name = 'FileSystemError';
  /** The same error with the stage that hit it named first. */
  inStage(stage: string): FileSystemError {
    return new FileSystemError(`${stage}: ${this.message}`, { ...(this.hint ? { hint: this.hint } : {}), cause: this.cause });
  }
}

/** The code of a file-system error this module explains, if `error` is one. */
function explainedCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code && Object.hasOwn(REASONS, code) ? code : undefined;
}

/**
 * `error` as a GradsignError naming the path when it is a full disk, read-only file system or
 * refused permission; any other error unchanged. `target` names the output being written when the
 * error itself carries no path (a stream's write has none).
 */
export function fileSystemError(error: unknown, target: string): unknown {
  if (error instanceof GradsignError) return error;
  const code = explainedCode(error);
  if (!code) return error;
  const where = (error as NodeJS.ErrnoException).path ?? target;
  const { what, hint } = REASONS[code]!;
  return new FileSystemError(`cannot write ${where}: ${what} (${code})`, {
    hint: `${hint}; outputs already finished are kept, and an interrupted attack resumes from its saved batches`,
    cause: error,
  });
}
