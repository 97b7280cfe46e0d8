import { createHash, timingSafeEqual } from 'node:crypto';

export type Access = 'none' | 'read' | 'write';

/**
 * Maps an `Authorization` header to the access it grants. Tokens are compared
 * as SHA-256 digests with timingSafeEqual, so neither the comparison time nor
 * the token length leaks through timing.
 */
export function createAuthorizer(
  readTokens: readonly string[],
  writeTokens: readonly string[],
): (authorization: string | undefined) => Access {
  const readDigests = readTokens.map(digest);
  const writeDigests = writeTokens.map(digest);
  return (authorization) => {
    const token = bearerToken(authorization);
    if (token === undefined) return 'none';
    const candidate = digest(token);
    // Check every token (no early exit) so timing does not reveal which list matched.
    let access: Access = 'none';
    for (const known of writeDigests) if (timingSafeEqual(known, candidate)) access = 'write';
    for (const known of readDigests) {
      if (timingSafeEqual(known, candidate) && access === 'none') access = 'read';
    }
    return access;
  };
}

function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match?.[1];
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
