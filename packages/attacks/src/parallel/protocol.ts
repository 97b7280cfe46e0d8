/** Messages between the attack pool (main thread) and its worker threads. All plain, cloneable data. */
import type { Backend, ResolvedAttack } from '@gradsign/core';
import type { AttackBatch, AttackResult } from '../attack.ts';
import type { ModelSource } from '../load.ts';
import type { GradientInfo, GradientOption } from '../model.ts';

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
  | { type: 'ready'; backend: string; gradients: GradientInfo }
  | ({ type: 'result'; id: number } & AttackResult)
  | { type: 'error'; id?: number; error: SerializedError };
