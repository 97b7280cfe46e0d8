import type { backend_util } from '@tensorflow/tfjs';

/** The sizes an im2col / col2im loop over a convolution needs, with k = kh·kw·ci taps per
 * output position and m = n·oh·ow output positions. */
export function convGeometry(info: backend_util.Conv2DInfo) {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  return { n, h, w, oh, ow, ci, co, kh, kw, sh, sw, pt: info.padInfo.top, pl: info.padInfo.left, k: kh * kw * ci, m: n * oh * ow };
}
