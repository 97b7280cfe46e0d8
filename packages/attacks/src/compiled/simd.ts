/**
 * WebAssembly SIMD versions of the hottest JS kernel (kernels.ts), for the wasm backend. The module
 * is assembled here, from the instructions below (no binary blobs, no toolchain), and instantiated
 * over the wasm backend's own memory — it imports the backend's WebAssembly.Memory — so it works
 * on tensors in place, four float32 lanes at a time.
 *
 * Only what the kernels need of the binary format: one function type, one imported memory, the
 * exported functions, i32 locals and arithmetic, structured loops, and a handful of v128 ops.
 */

/** The subset of the WebAssembly instruction set used here, as (prefixed) opcodes. */
const I32 = 0x7f;
const V128 = 0x7b;
const enum Op {
  block = 0x02,
  loop = 0x03,
  end = 0x0b,
  br = 0x0c,
  brIf = 0x0d,
  localGet = 0x20,
  localSet = 0x21,
  i32Const = 0x41,
  i32GeS = 0x4e,
  i32Add = 0x6a,
  i32Mul = 0x6c,
  i32Shl = 0x74,
  simd = 0xfd,
}
/** SIMD sub-opcodes (after the 0xfd prefix). */
const enum Simd {
  v128Load = 0x00,
  v128Store = 0x0b,
  v128Const = 0x0c,
  i32x4GtS = 0x3b,
  v128And = 0x4e,
  v128AndNot = 0x4f,
  v128Bitselect = 0x52,
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const bytesOf = (s: string) => [...Buffer.from(s, 'utf8')];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** A function body under construction: locals are numbered params first. */
class Body {
  readonly code: number[] = [];
  constructor(
    readonly params: number,
    readonly i32Locals: number,
    readonly v128Locals: number,
  ) {}
  private emit(...b: number[]): this {
    this.code.push(...b);
    return this;
  }
  get(l: number) {
    return this.emit(Op.localGet, ...uleb(l));
  }
  set(l: number) {
    return this.emit(Op.localSet, ...uleb(l));
  }
  i32(v: number) {
    return this.emit(Op.i32Const, ...sleb(v));
  }
  add() {
    return this.emit(Op.i32Add);
  }
  mul() {
    return this.emit(Op.i32Mul);
  }
  shl() {
    return this.emit(Op.i32Shl);
  }
  simd(op: Simd) {
    return this.emit(Op.simd, ...uleb(op));
  }
  load() {
    return this.simd(Simd.v128Load).emit(0, 0); // memarg: align hint 2⁰ (any address), offset 0
  }
  store() {
    return this.simd(Simd.v128Store).emit(0, 0);
  }
  v128(lanes: [number, number, number, number]) {
    const b = Buffer.alloc(16);
    lanes.forEach((v, i) => b.writeInt32LE(v | 0, 4 * i));
    return this.simd(Simd.v128Const).emit(...b);
  }
  /** `for (l = 0; l < limit; l += step) body()`, with limit and step locals or constants. */
  forLoop(l: number, limit: { local: number } | { value: number }, step: number, body: () => void) {
    this.i32(0).set(l);
    this.emit(Op.block, 0x40, Op.loop, 0x40);
    this.get(l);
    if ('local' in limit) this.get(limit.local);
    else this.i32(limit.value);
    this.emit(Op.i32GeS, Op.brIf, 1);
    body();
    this.get(l).i32(step).add().set(l);
    this.emit(Op.br, 0, Op.end, Op.end);
    return this;
  }
  encode(): number[] {
    const locals = [
      ...(this.i32Locals ? [[...uleb(this.i32Locals), I32]] : []),
      ...(this.v128Locals ? [[...uleb(this.v128Locals), V128]] : []),
    ];
    const body = [...vec(locals), ...this.code, Op.end];
    return [...uleb(body.length), ...body];
  }
}

/**
 * reluMaxPool2x2Grad(y, dy, out, n, h, w, c, oh, ow) — byte addresses and sizes; c % 4 = 0.
 * Same result as kernels.ts's JS version: per 2×2 window and channel, dy goes to the FIRST maximum
 * of the ReLU output y (compared as int32 bit patterns after folding −0 into +0), if it is > 0;
 * out is [n, 2·oh, 2·ow, c].
 */
function reluMaxPool2x2Grad(): Body {
  // params
  const Y = 0, DY = 1, OUT = 2, N = 3, H = 4, W = 5, C = 6, OH = 7, OW = 8;
  // i32 locals
  const b = 9, r = 10, col = 11, k = 12, pa = 13, po = 14, rowA = 15, rowO = 16, cb = 17, dyp = 18, tmp = 19;
  // v128 locals
  const x0 = 20, x1 = 21, x2 = 22, x3 = 23, s1 = 24, s3 = 25, t = 26, g = 27, m01 = 28, m23 = 29, mask = 30;
  const f = new Body(9, 11, 11);
  f.get(C).i32(2).shl().set(cb); // channel row in bytes
  f.get(W).get(cb).mul().set(rowA);
  f.get(OW).i32(1).shl().get(cb).mul().set(rowO);
  f.get(DY).set(dyp);
  f.v128([0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff]).set(mask);
  const loadMasked = (addr: () => void, into: number) => {
    addr();
    f.load().get(mask).simd(Simd.v128And).set(into);
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
          loadMasked(() => f.get(pa).get(k).add(), x0);
          loadMasked(() => f.get(pa).get(cb).add().get(k).add(), x1);
          loadMasked(() => f.get(pa).get(rowA).add().get(k).add(), x2);
          loadMasked(() => f.get(pa).get(rowA).add().get(cb).add().get(k).add(), x3);
          f.get(x1).get(x0).simd(Simd.i32x4GtS).set(s1); // x1 > x0: a tie keeps the first
          f.get(x1).get(x0).get(s1).simd(Simd.v128Bitselect).set(m01);
          f.get(x3).get(x2).simd(Simd.i32x4GtS).set(s3);
          f.get(x3).get(x2).get(s3).simd(Simd.v128Bitselect).set(m23);
          f.get(m23).get(m01).simd(Simd.i32x4GtS).set(t); // the bottom row's maximum is strictly larger
          // g = dy where max(m01, m23) > 0
          f.get(dyp).load();
          f.get(m23).get(m01).get(t).simd(Simd.v128Bitselect).v128([0, 0, 0, 0]).simd(Simd.i32x4GtS);
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

function assemble(functions: Record<string, Body>): Uint8Array {
  const names = Object.keys(functions);
  const bodies = Object.values(functions);
  // One type per distinct parameter count (all parameters i32, no results).
  const arities = [...new Set(bodies.map((f) => f.params))];
  const types = section(1, vec(arities.map((p) => [0x60, ...vec(Array.from({ length: p }, () => [I32])), 0])));
  // (import "env" "memory" (memory 1)): the wasm backend's memory, whatever its current size.
  const imports = section(2, vec([[...uleb(3), ...bytesOf('env'), ...uleb(6), ...bytesOf('memory'), 0x02, 0x00, ...uleb(1)]]));
  const funcs = section(3, vec(bodies.map((f) => uleb(arities.indexOf(f.params)))));
  const exports = section(7, vec(names.map((name, i) => [...uleb(name.length), ...bytesOf(name), 0x00, ...uleb(i)])));
  const code = section(10, vec(bodies.map((f) => f.encode())));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

export interface SimdKernels {
  reluMaxPool2x2Grad(y: number, dy: number, out: number, n: number, h: number, w: number, c: number, oh: number, ow: number): void;
}

/** A WebAssembly.Memory (the project's TypeScript lib set does not declare the WebAssembly API). */
export type WasmMemory = object & { readonly buffer: ArrayBuffer };
const WA = (
  globalThis as unknown as {
    WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: unknown } };
  }
).WebAssembly;

let module: object | null | undefined;
const instances = new WeakMap<WasmMemory, SimdKernels>();

/** The kernels over `memory`, or undefined where WebAssembly SIMD is unavailable. */
export function simdKernels(memory: WasmMemory): SimdKernels | undefined {
  if (module === undefined) {
    try {
      module = new WA.Module(assemble({ reluMaxPool2x2Grad: reluMaxPool2x2Grad() }));
    } catch {
      module = null; // no SIMD support: the JS kernels run instead
    }
  }
  if (!module) return undefined;
  let kernels = instances.get(memory);
  if (!kernels) {
    kernels = new WA.Instance(module, { env: { memory } }).exports as SimdKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}
