#!/usr/bin/env node
/**
 * `npm run pipeline -- <name> [nx options]`: runs `nx run pipeline:<name>`, but first checks the
 * remote cache (if one is configured). Nx fails the whole run when the server is unreachable or
 * rejects the token; here an unusable server only costs a warning and the local cache is used.
 */
import { spawn } from 'node:child_process';

const [name = 'full', ...rest] = process.argv.slice(2);
if (name === '--help' || name === '-h') {
  process.stdout.write(
    'usage: npm run pipeline -- [name] [nx options]\n\n' +
      'Runs pipelines/<name>.json (default: full) through Nx. When NX_SELF_HOSTED_REMOTE_CACHE_SERVER is set,\n' +
      'the server and token are checked first; if either is unusable the run falls back to the local cache.\n',
  );
  process.exit(0);
}

const env = { ...process.env };
const server = env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER?.replace(/\/+$/, '');

/** Why the remote cache cannot be used, or undefined when it can. */
async function remoteCacheProblem(url, token) {
  const timeout = AbortSignal.timeout(Number(env.GRADSIGN_CACHE_CHECK_TIMEOUT_MS ?? 3000));
  try {
    const health = await fetch(`${url}/health`, { signal: timeout });
    if (!health.ok) return `its health check answered ${health.status}`;
    // A hash that never exists: 404 means the token may read; 401/403 mean it may not.
    const probe = await fetch(`${url}/v1/cache/gradsign-token-check`, {
      headers: { authorization: `Bearer ${token ?? ''}` },
      signal: timeout,
    });
    if (probe.status === 401 || probe.status === 403) return `it rejects the access token (${probe.status})`;
    return undefined;
  } catch (error) {
    return `it is unreachable (${error.cause?.code ?? error.cause?.message ?? error.message})`;
  }
}

if (server) {
  const problem = await remoteCacheProblem(server, env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN);
  if (problem) {
    process.stderr.write(`warning: remote cache ${server} not used: ${problem}; running with the local cache only\n`);
    delete env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER;
    delete env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN;
  } else {
    process.stderr.write(`remote cache: ${server}\n`);
  }
}

const child = spawn('npx', ['nx', 'run', `pipeline:${name}`, ...rest], { stdio: 'inherit', env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
