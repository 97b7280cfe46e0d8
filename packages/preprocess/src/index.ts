export * from './stage.ts';
export * from './idx.ts';
export * from './fashion-mnist.ts';
