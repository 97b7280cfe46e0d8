/**
 * A failure the user can act on: `message` says what is wrong (naming the input),
 * `hint` says what to do about it. CLIs print both and exit non-zero, without a stack.
 */
export class GradsignError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GradsignError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Formats any thrown value for a terminal: user errors plainly, bugs with their stack. */
export function formatError(error: unknown): string {
  if (error instanceof GradsignError) {
    return `error: ${error.message}` + (error.hint ? `\n  hint: ${error.hint}` : '');
  }
  if (error instanceof Error) return `internal error: ${error.stack ?? error.message}`;
  return `internal error: ${String(error)}`;
}
