export * from './stage.ts';
export * from './buckets.ts';
export * from './predict-clean.ts';
