export { registerWasmKernels, unregisterWasmKernels } from './registry.ts';
export { COL2IM_MAX_CHANNELS, conv2dBackpropInputRotated, rotateFilter } from './conv2d-backprop-input.ts';
export { col2imValid4D } from './col2im-valid.ts';
export { padBottomRight4D } from './pad-bottom-right.ts';
export { reluBackward } from './relu-grad.ts';
export { reluMaxPool2x2Backward } from './relu-max-pool-2x2-grad.ts';
