export { createCacheServer, type CacheServer } from './server.ts';
export type { CacheServerOptions } from './options.ts';
export { parseCliArgs, UsageError, USAGE } from './args.ts';
