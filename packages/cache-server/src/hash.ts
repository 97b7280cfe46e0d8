/**
 * Nx task hashes are decimal strings today; we accept a slightly wider,
 * filename-safe alphabet. Anything else (dots, slashes, percent-escapes) is
 * rejected before it gets near the filesystem, which rules out path traversal.
 */
export const MAX_HASH_LENGTH = 128;

const HASH_PATTERN = /^[A-Za-z0-9_-]+$/;

export function isValidHash(hash: string): boolean {
  return hash.length > 0 && hash.length <= MAX_HASH_LENGTH && HASH_PATTERN.test(hash);
}
