export * from './stage.ts';
export * from './small-cnn.ts';
export * from './train.ts';
