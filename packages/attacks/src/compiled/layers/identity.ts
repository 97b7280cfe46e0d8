/** Dropout-like layers: the identity at inference. */
import { identityStep, type LayerCompiler } from '../step.ts';

export const IDENTITY_LAYERS = ['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout'] as const;

export const compileIdentity: LayerCompiler = (layer) => identityStep(layer.getClassName());
