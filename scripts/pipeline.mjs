#!/usr/bin/env node
/**
 * `npm run pipeline -- <name> [nx options]`: runs `nx run pipeline:<name>`, but first checks the
 * remote cache (if one is configured). Nx fails the whole run when the server is unreachable or
 * rejects the token; here an unusable server only costs a warning and the local cache is used, and
 * a server that goes away mid-run (which fails the run) is named, with how to go on.
 */
import { spawn } from 'node:child_process';
import { checkTimeoutMs, configuredServer, remoteCacheProblem } from '../packages/nx-plugin/remote-cache.cjs';
import { CHECKED_ENV } from '../packages/nx-plugin/remote-cache-hint.cjs';

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
const server = configuredServer(env);

const token = env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN;
if (server) {
  const problem = await remoteCacheProblem(server, token, checkTimeoutMs(env));
  if (problem) {
    process.stderr.write(`warning: remote cache ${server} not used: ${problem}; running with the local cache only\n`);
    delete env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER;
    delete env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN;
  } else {
    process.stderr.write(`remote cache: ${server}\n`);
    env[CHECKED_ENV] = '1'; // the plugin need not check it again
  }
}

const child = spawn('npx', ['nx', 'run', `pipeline:${name}`, ...rest], { stdio: 'inherit', env });
child.on('exit', async (code, signal) => {
  const status = code ?? (signal ? 1 : 0);
  // Nx fails the run when the server goes away mid-run: say so, and how to go on.
  const problem = status !== 0 && env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER ? await remoteCacheProblem(server, token, checkTimeoutMs(env)) : undefined;
  if (problem) {
    process.stderr.write(
      `gradsign: the remote cache ${server} became unusable during the run (${problem}), which fails an Nx run.\n` +
        `  Run \`npm run pipeline -- ${name}\` again (it falls back to the local cache), or add --skipRemoteCache.\n`,
    );
  }
  process.exit(status);
});
