export * from './backend.ts';
export * from './model-io.ts';
export * from './classifier.ts';
export * from './load-classifier.ts';
export * from './predict.ts';
export * from './model-forward.ts';
export * from './loss-gradient.ts';
export * from './gradient-diagnostics.ts';
