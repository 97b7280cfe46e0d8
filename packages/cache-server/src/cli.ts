import { resolve } from 'node:path';
import { parseCliArgs, USAGE, UsageError } from './args.ts';
import { createCacheServer } from './server.ts';

async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`gradsign-cache-server: ${error.message}\n`);
    return 2;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }

  const dir = resolve(command.options.dir);
  const cache = createCacheServer({ ...command.options, dir });
  const { url } = await cache.listen();
  process.stdout.write(`gradsign-cache-server listening on ${url} (dir ${dir})\n`);

  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      cache.close().then(done, done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EADDRINUSE' ? ' (the port is taken: pick another with --port, or --port 0 for a free one)'
      : code === 'EACCES' ? ' (permission denied: check --dir and --port)'
      : '';
    process.stderr.write(`gradsign-cache-server: ${(error as Error).message}${hint}\n`);
    process.exitCode = 1;
  },
);
