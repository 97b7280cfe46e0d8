/**
 * The WebAssembly SIMD version of GradsignReluMaxPool2x2Grad (relu-max-pool-2x2-grad.ts), for the
 * wasm backend: channels four at a time, straight on the backend's memory.
 */
import { KEY_MASK, KEY_OFFSET, ZERO_KEY } from './float-order.ts';
import { FunctionBody, Simd, simdModule } from './wasm-assembler.ts';

export interface ReluMaxPoolSimd {
  /** Byte addresses of y, dy and out, then sizes; c % 4 = 0. */
  reluMaxPool2x2Grad(y: number, dy: number, out: number, n: number, h: number, w: number, c: number, oh: number, ow: number): void;
}

/**
 * Same result as the JS version: per 2×2 window and channel, dy goes to the FIRST maximum of the
 * ReLU output y (compared as the JS version's order keys: int32 bit patterns, −0 folded into +0,
 * NaN lowest), if it is > 0; out is [n, 2·oh, 2·ow, c].
 */
function reluMaxPool2x2Grad(): FunctionBody {
  // params
  const Y = 0, DY = 1, OUT = 2, N = 3, H = 4, W = 5, C = 6, OH = 7, OW = 8;
  // i32 locals
  const b = 9, r = 10, col = 11, k = 12, pa = 13, po = 14, rowA = 15, rowO = 16, cb = 17, dyp = 18, tmp = 19;
  // v128 locals
  const x0 = 20, x1 = 21, x2 = 22, x3 = 23, s1 = 24, s3 = 25, t = 26, g = 27, m01 = 28, m23 = 29, mask = 30, offset = 31;
  const f = new FunctionBody(9, 11, 12);
  f.get(C).i32(2).shl().set(cb); // channel row in bytes
  f.get(W).get(cb).mul().set(rowA);
  f.get(OW).i32(1).shl().get(cb).mul().set(rowO);
  f.get(DY).set(dyp);
  f.v128([KEY_MASK, KEY_MASK, KEY_MASK, KEY_MASK]).set(mask);
  f.v128([KEY_OFFSET, KEY_OFFSET, KEY_OFFSET, KEY_OFFSET]).set(offset);
  // into = the order keys (float-order.ts) of the four values at addr
  const loadKeys = (addr: () => void, into: number) => {
    addr();
    f.load().get(offset).simd(Simd.i32x4Add).get(mask).simd(Simd.v128And).set(into);
  };
  f.forLoop(b, { local: N }, 1, () => {
    f.forLoop(r, { local: OH }, 1, () => {
      // tmp = y + ((b·h + 2r) · rowA);  po base = out + ((b·2·oh + 2r) · rowO)
      f.get(b).get(H).mul().get(r).i32(1).shl().add().get(rowA).mul().get(Y).add().set(tmp);
      f.forLoop(col, { local: OW }, 1, () => {
        f.get(col).i32(1).shl().get(cb).mul().get(tmp).add().set(pa);
        f.get(b).get(OH).mul().i32(1).shl().get(r).i32(1).shl().add().get(rowO).mul().get(OUT).add();
        f.get(col).i32(1).shl().get(cb).mul().add().set(po);
        f.forLoop(k, { local: cb }, 16, () => {
          loadKeys(() => f.get(pa).get(k).add(), x0);
          loadKeys(() => f.get(pa).get(cb).add().get(k).add(), x1);
          loadKeys(() => f.get(pa).get(rowA).add().get(k).add(), x2);
          loadKeys(() => f.get(pa).get(rowA).add().get(cb).add().get(k).add(), x3);
          f.get(x1).get(x0).simd(Simd.i32x4GtS).set(s1); // x1 > x0: a tie keeps the first
          f.get(x1).get(x0).get(s1).simd(Simd.v128Bitselect).set(m01);
          f.get(x3).get(x2).simd(Simd.i32x4GtS).set(s3);
          f.get(x3).get(x2).get(s3).simd(Simd.v128Bitselect).set(m23);
          f.get(m23).get(m01).simd(Simd.i32x4GtS).set(t); // the bottom row's maximum is strictly larger
          // g = dy where max(m01, m23) > 0
          f.get(dyp).load();
          f.get(m23).get(m01).get(t).simd(Simd.v128Bitselect).v128([ZERO_KEY, ZERO_KEY, ZERO_KEY, ZERO_KEY]).simd(Simd.i32x4GtS);
          f.simd(Simd.v128And).set(g);
          // out: (g & ~t & ~s1), (g & ~t & s1), (g & t & ~s3), (g & t & s3)
          f.get(po).get(k).add();
          f.get(g).get(t).simd(Simd.v128AndNot).get(s1).simd(Simd.v128AndNot).store();
          f.get(po).get(cb).add().get(k).add();
          f.get(g).get(t).simd(Simd.v128AndNot).get(s1).simd(Simd.v128And).store();
          f.get(po).get(rowO).add().get(k).add();
          f.get(g).get(t).simd(Simd.v128And).get(s3).simd(Simd.v128AndNot).store();
          f.get(po).get(rowO).add().get(cb).add().get(k).add();
          f.get(g).get(t).simd(Simd.v128And).get(s3).simd(Simd.v128And).store();
          f.get(dyp).i32(16).add().set(dyp);
        });
      });
    });
  });
  return f;
}

/** The SIMD kernel over a wasm memory, or undefined where WebAssembly SIMD is unavailable. */
export const reluMaxPoolSimd = simdModule<ReluMaxPoolSimd>(() => ({ reluMaxPool2x2Grad: reluMaxPool2x2Grad() }));
