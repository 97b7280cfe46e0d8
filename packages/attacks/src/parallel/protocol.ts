/** Messages between the attack pool (main thread) and its worker threads. All plain, cloneable data. */
import type { Backend, ResolvedAttack } from '@gradsign/core';
import type { AttackBatch } from '../attack.ts';
import type { ModelSource } from '../load.ts';
import type { GradientOption, GradientPath } from '../model.ts';

export interface WorkerInit {
  source: ModelSource;
  backend: Backend;
  gradient: GradientOption;
}

export interface SerializedError {
  name: string;
  message: string;
  hint?: string;
  exitCode?: number;
  stack?: string;
}

export type ToWorker = { type: 'attack'; id: number; attack: ResolvedAttack; seed: number; batch: AttackBatch } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; backend: string; gradientPath: GradientPath; fallbackReason?: string }
  | { type: 'result'; id: number; images: Float32Array; targets: Int32Array }
  | { type: 'error'; id?: number; error: SerializedError };
