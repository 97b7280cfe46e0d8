/**
 * Corrected gradients for tfjs kernels whose registered gradient disagrees with their forward
 * pass (one file per kernel). tfjs keeps gradients in one process-wide registry shared by every
 * backend, so registering once covers cpu, wasm, webgpu and tfjs-node alike.
 *
 * Registered as a side effect of importing `@gradsign/core/tf` (every gradsign module that touches
 * tfjs imports it, worker threads included), after `@tensorflow/tfjs` has registered the stock
 * gradients (ES modules evaluate their imports first). `selectBackend`/`initWasm` register again:
 * loading tfjs-node can evaluate a second copy of tfjs-core, whose stock gradients would replace
 * ours in the shared registry. Registering is idempotent and cheap.
 */
import * as avgPool from './avg-pool.ts';

const FIXES = [avgPool];

export function registerGradientFixes(): void {
  for (const fix of FIXES) fix.register();
}

registerGradientFixes();
