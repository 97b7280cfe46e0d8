export * from './attack.ts';
export * from './base.ts';
export * from './run.ts';
export * from './methods/index.ts';
export * from './targets/index.ts';
