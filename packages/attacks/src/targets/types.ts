/** How the class that drives the gradient is chosen; fixed once, from the clean image. */
export interface TargetInput {
  ids: Int32Array;
  labels: Int32Array;
  /** Clean top-5 classes [n·5], most probable first (from bucketing). */
  top5: Int32Array;
  numClasses: number;
  seed: number;
  /** Clean log-probabilities [n·numClasses]; computed only for strategies that ask for them. */
  cleanLogProbs?: Float32Array;
}

export interface TargetStrategy {
  readonly name: string;
  /** Targeted strategies descend the target's loss; untargeted ascend the true label's. */
  readonly targeted: boolean;
  readonly needsCleanLogProbs?: boolean;
  choose(input: TargetInput): Int32Array;
}
