export * from './stage.ts';
export * from './metrics.ts';
export * from './rows.ts';
