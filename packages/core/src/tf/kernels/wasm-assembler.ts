/**
 * A tiny WebAssembly assembler for SIMD kernels that run on the wasm backend's own memory: modules
 * are assembled here from instructions (no binary blobs, no toolchain) and import the backend's
 * WebAssembly.Memory, so they work on tensors in place, four float32 lanes at a time.
 *
 * Only what the kernels need of the binary format: one function type per arity (i32 parameters,
 * no results), one imported memory, the exported functions, i32 locals and arithmetic, structured
 * loops, and a handful of v128 ops.
 */
import type { WasmMemory } from './wasm-backend.ts';

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
export const Simd = {
  v128Load: 0x00,
  v128Store: 0x0b,
  v128Const: 0x0c,
  i32x4GtS: 0x3b,
  v128And: 0x4e,
  v128AndNot: 0x4f,
  v128Bitselect: 0x52,
  i32x4Add: 0xae,
} as const;
export type Simd = (typeof Simd)[keyof typeof Simd];

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
export class FunctionBody {
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
    const locals = [...(this.i32Locals ? [[...uleb(this.i32Locals), I32]] : []), ...(this.v128Locals ? [[...uleb(this.v128Locals), V128]] : [])];
    const body = [...vec(locals), ...this.code, Op.end];
    return [...uleb(body.length), ...body];
  }
}

function assemble(functions: Record<string, FunctionBody>): Uint8Array {
  const names = Object.keys(functions);
  const bodies = Object.values(functions);
  const arities = [...new Set(bodies.map((f) => f.params))];
  const types = section(1, vec(arities.map((p) => [0x60, ...vec(Array.from({ length: p }, () => [I32])), 0])));
  // (import "env" "memory" (memory 1)): the wasm backend's memory, whatever its current size.
  const imports = section(2, vec([[...uleb(3), ...bytesOf('env'), ...uleb(6), ...bytesOf('memory'), 0x02, 0x00, ...uleb(1)]]));
  const funcs = section(3, vec(bodies.map((f) => uleb(arities.indexOf(f.params)))));
  const exports = section(7, vec(names.map((name, i) => [...uleb(name.length), ...bytesOf(name), 0x00, ...uleb(i)])));
  const code = section(10, vec(bodies.map((f) => f.encode())));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

const WA = (
  globalThis as unknown as {
    WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: unknown } };
  }
).WebAssembly;

/**
 * The functions of a module, compiled once, instantiated once per memory: `instantiate(memory)` is
 * undefined where WebAssembly SIMD is unavailable (the caller runs its JS version instead).
 */
export function simdModule<Exports>(functions: () => Record<string, FunctionBody>): (memory: WasmMemory) => Exports | undefined {
  let module: object | null | undefined;
  const instances = new WeakMap<WasmMemory, Exports>();
  return (memory) => {
    if (module === undefined) {
      try {
        module = new WA.Module(assemble(functions()));
      } catch {
        module = null; // no SIMD support
      }
    }
    if (!module) return undefined;
    let exports = instances.get(memory);
    if (!exports) {
      exports = new WA.Instance(module, { env: { memory } }).exports as Exports;
      instances.set(memory, exports);
    }
    return exports;
  };
}
