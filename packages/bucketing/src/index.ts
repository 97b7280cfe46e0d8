export * from './stage.ts';
export * from './buckets.ts';
export * from './predict-clean.ts';
export * from './calibration.ts';
