/**
 * A PyTorch process kept up for the whole bench (torch_inception.py), so PyTorch and gradsign can
 * be timed in alternation, closely in time, on a machine whose load drifts.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The Python that runs the reference; GRADSIGN_TORCH_PYTHON overrides. */
const PYTHON = process.env.GRADSIGN_TORCH_PYTHON || '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_inception.py');

export interface TorchServer {
  version: string;
  threads: number;
  /** Seconds of each of `reps` timed runs of `method` on a batch. */
  seconds(method: 'fgsm' | 'bim', batch: number, reps: number): Promise<number[]>;
  close(): void;
}

/** Starts the PyTorch process; an Error that says why when it cannot (no python, no torch). */
export async function startTorch(options: { size: number; eps: number; bimSteps: number; threads: number }): Promise<TorchServer> {
  const args = [SCRIPT, '--size', String(options.size), '--eps', String(options.eps), '--bim-steps', String(options.bimSteps), '--threads', String(options.threads)];
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.on('error', (e) => reject(new Error(`${PYTHON}: ${e.message}`)));
    child.on('exit', () =>
      reject(new Error(/No module named '(torch|torchvision)'/.test(stderr) ? `${PYTHON} cannot import torch/torchvision (apt-get install -y python3-torch python3-torchvision)` : `the PyTorch process ended: ${stderr.trim().split('\n').pop()}`)),
    );
  });
  failed.catch(() => undefined);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await Promise.race([lines.next(), failed]);
    if (line.done) return failed;
    return JSON.parse(line.value as string) as Record<string, unknown>;
  };
  const hello = await next();
  return {
    version: `torch ${hello.torch}, torchvision ${hello.torchvision}`,
    threads: hello.threads as number,
    async seconds(method, batch, reps) {
      child.stdin.write(JSON.stringify({ method, batch, reps }) + '\n');
      return (await next()).seconds as number[];
    },
    close: () => child.stdin.end(),
  };
}
