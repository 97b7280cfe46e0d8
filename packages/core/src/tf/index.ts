export * from './gradients/index.ts';
export * from './verified-ops.ts';
export * from './backend.ts';
export * from './model-io.ts';
export * from './classifier.ts';
export * from './load-classifier.ts';
export * from './predict.ts';
