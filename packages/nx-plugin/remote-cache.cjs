// @ts-check
/**
 * Is the Nx remote cache in NX_SELF_HOSTED_REMOTE_CACHE_SERVER usable? Nx (24) fails the whole run,
 * before building anything, when the server is unreachable or rejects the token; gradsign checks
 * first. Used by scripts/pipeline.mjs (which then runs with the local cache only) and by the
 * plugin's preTasksExecution hook (which, under plain `nx`, says how to run anyway).
 */

/** The configured server, without trailing slashes, or undefined. @param {NodeJS.ProcessEnv} env */
function configuredServer(env) {
  return env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER?.replace(/\/+$/, '') || undefined;
}

/**
 * Why the remote cache at `url` cannot be used with `token`, or undefined when it can.
 * @param {string} url @param {string | undefined} token @param {number} timeoutMs
 * @returns {Promise<string | undefined>}
 */
async function remoteCacheProblem(url, token, timeoutMs) {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const health = await fetch(`${url}/health`, { signal });
    if (!health.ok) return `its health check answered ${health.status}`;
    // A hash that never exists: 404 means the token may read; 401/403 mean it may not.
    const probe = await fetch(`${url}/v1/cache/gradsign-token-check`, { headers: { authorization: `Bearer ${token ?? ''}` }, signal });
    if (probe.status === 401 || probe.status === 403) return `it rejects the access token (${probe.status})`;
    return undefined;
  } catch (error) {
    const e = /** @type {Error & { cause?: { code?: string, message?: string } }} */ (error);
    return `it is unreachable (${e.cause?.code ?? e.cause?.message ?? e.message})`;
  }
}

/** How long a check may take: GRADSIGN_CACHE_CHECK_TIMEOUT_MS, default 3 s. @param {NodeJS.ProcessEnv} env */
const checkTimeoutMs = (env) => Number(env.GRADSIGN_CACHE_CHECK_TIMEOUT_MS ?? 3000);

module.exports = { checkTimeoutMs, configuredServer, remoteCacheProblem };
