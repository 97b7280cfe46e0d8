// @ts-check
/**
 * The plugin's preTasksExecution hook: under plain `nx`, an unusable remote cache makes Nx fail the
 * run, with its own "Failed to send request", at the first task that is not in the local cache. Checked first, so the user reads why
 * and how to run anyway (`npm run pipeline -- <name>`, --skipRemoteCache). Nx still decides; the
 * check is skipped when the remote cache is off for this run, or scripts/pipeline.mjs checked already.
 */
const { checkTimeoutMs, configuredServer, remoteCacheProblem } = require('./remote-cache.cjs');

/** Set by scripts/pipeline.mjs for the nx it starts: the server was checked (and works). */
const CHECKED_ENV = 'GRADSIGN_REMOTE_CACHE_CHECKED';
const SKIP_FLAGS = ['--skipRemoteCache', '--skip-remote-cache', '--skipNxCache', '--skip-nx-cache'];

/** @param {readonly string[]} argv @param {NodeJS.ProcessEnv} env */
function remoteCacheInUse(argv, env) {
  if (!configuredServer(env) || env[CHECKED_ENV] === '1') return false;
  if (env.NX_SKIP_REMOTE_CACHE === 'true' || env.NX_SKIP_NX_CACHE === 'true' || env.NX_DISABLE_NX_CACHE === 'true') return false;
  return !argv.some((arg) => SKIP_FLAGS.includes(arg.split('=')[0] ?? ''));
}

/** The hint's command for the pipeline this run is for (`nx run pipeline:<name>`). @param {readonly string[]} argv */
function pipelineCommand(argv) {
  const target = argv.map((arg) => /^pipeline:([\w.-]+)$/.exec(arg)?.[1]).find(Boolean);
  return `npm run pipeline -- ${target ?? '<name>'}`;
}

/**
 * Warns on stderr when the remote cache Nx is about to use cannot be used.
 * @param {import('nx/src/project-graph/plugins').PreTasksExecutionContext} context
 */
async function warnIfRemoteCacheUnusable(context, env = process.env) {
  if (!remoteCacheInUse(context.argv, env)) return;
  const server = /** @type {string} */ (configuredServer(env));
  const problem = await remoteCacheProblem(server, env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN, checkTimeoutMs(env));
  if (!problem) return;
  process.stderr.write(
    `gradsign: warning: the remote cache ${server} is unusable: ${problem}.\n` +
      `  Nx fails the run at the first task that is not in the local cache ("Failed to send request", "Unauthorized"). To run with the local cache only:\n` +
      `  \`${pipelineCommand(context.argv)}\` (checks the server and falls back), or add --skipRemoteCache, or unset NX_SELF_HOSTED_REMOTE_CACHE_SERVER.\n`,
  );
}

module.exports = { CHECKED_ENV, warnIfRemoteCacheUnusable };
