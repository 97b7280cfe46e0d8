/**
 * Arrow IPC *file* artifacts: written in record batches (never the whole dataset in memory) to a
 * temp file that is fsynced and renamed into place on success, with a sha256 beside it
 * (`<file>.sha256`, `sha256sum -c` format); read back batch by batch with the checksum, the
 * artifact's kind, schema version and columns checked. Schema metadata carries the kind, version,
 * and a JSON document validated by the artifact's zod schema.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import {
  Bool,
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  Schema,
  Struct,
  Uint8,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { z } from 'zod';
import { syncPath, tempPathFor, writeFileAtomic } from './atomic.ts';
import { GradsignError } from './errors.ts';
import { fileSystemError } from './fs-errors.ts';

type Scalar = 'int32' | 'float32' | 'uint8';
export type ColumnType = Scalar | 'utf8' | 'bool' | { list: Scalar };

type ScalarArray<T extends Scalar> = T extends 'int32' ? Int32Array : T extends 'float32' ? Float32Array : Uint8Array;
type ColumnArray<T extends ColumnType> = T extends Scalar
  ? ScalarArray<T>
  : T extends 'utf8'
    ? string[]
    : T extends 'bool'
      ? Uint8Array
      : T extends { list: infer S extends Scalar }
        ? ScalarArray<S>
        : never;

/** One record batch as plain arrays; list columns are flat (row-major, `listSize` values a row). */
export type Batch<C extends Record<string, ColumnType>> = { [K in keyof C]: ColumnArray<C[K]> };

export interface ArtifactKind<C extends Record<string, ColumnType>, M extends z.ZodType> {
  kind: string;
  version: number;
  columns: C;
  metadata: M;
  /** Which stage produces it, for error messages that say what to run. */
  producer: string;
}

export function defineArtifact<C extends Record<string, ColumnType>, M extends z.ZodType>(
  def: ArtifactKind<C, M>,
): ArtifactKind<C, M> {
  return def;
}

const META_KIND = 'gradsign.kind';
const META_VERSION = 'gradsign.version';
const META_DOC = 'gradsign.metadata';

function scalarType(s: Scalar): DataType {
  return s === 'int32' ? new Int32() : s === 'float32' ? new Float32() : new Uint8();
}

function arrowType(type: ColumnType, listSize: number | undefined): DataType {
  if (typeof type === 'object') {
    if (!listSize) throw new Error('list column needs a listSize');
    return new FixedSizeList(listSize, new Field('item', scalarType(type.list), false));
  }
  if (type === 'utf8') return new Utf8();
  if (type === 'bool') return new Bool();
  return scalarType(type);
}

function columnData(type: ColumnType, arrowT: DataType, values: unknown, rows: number): Data {
  if (typeof type === 'object') {
    const child = makeData({ type: scalarType(type.list), length: (values as Uint8Array).length, data: values } as never) as Data;
    return makeData({ type: arrowT as FixedSizeList, length: rows, nullCount: 0, child });
  }
  if (type === 'utf8') return vectorFromArray(values as string[], new Utf8()).data[0] as Data;
  if (type === 'bool') return vectorFromArray(Array.from(values as Uint8Array, (v) => v !== 0), new Bool()).data[0] as Data;
  return makeData({ type: arrowT as Int32, length: rows, data: values } as never);
}

export interface ArtifactWriter<C extends Record<string, ColumnType>> {
  readonly path: string;
  write(batch: Batch<C>): Promise<void>;
  /** Finishes the file and renames it into place. */
  close(): Promise<void>;
  /** Removes the temp file; nothing appears at `path`. */
  abort(): Promise<void>;
  readonly rowsWritten: number;
}

/**
 * Opens a writer. `listSizes` gives each list column's fixed length (e.g. image = h·w·c).
 * Nothing appears at `target` until close() succeeds.
 */
export async function writeArtifact<C extends Record<string, ColumnType>, M extends z.ZodType>(
  def: ArtifactKind<C, M>,
  target: string,
  metadata: z.input<M>,
  listSizes: Partial<Record<keyof C, number>> = {},
): Promise<ArtifactWriter<C>> {
  const doc = def.metadata.parse(metadata);
  const names = Object.keys(def.columns) as (keyof C & string)[];
  const types = names.map((n) => arrowType(def.columns[n] as ColumnType, listSizes[n]));
  const schema = new Schema(
    names.map((n, i) => new Field(n, types[i] as DataType, false)),
    new Map([
      [META_KIND, def.kind],
      [META_VERSION, String(def.version)],
      [META_DOC, JSON.stringify(doc)],
    ]),
  );
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const sink: WriteStream = createWriteStream(tmp);
  // The bytes are hashed on their way to the file: the checksum costs no second read.
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const writer = new RecordBatchFileWriter();
  writer.pipe(hashing).pipe(sink);
  // A failed write (a full disk) rejects `done` at once: handled here, and rethrown by the next
  // write() or close(), so it never escapes as an unhandled rejection.
  let failure: unknown;
  const done = finished(sink).catch((error: unknown) => {
    failure ??= fileSystemError(error, target);
    throw failure;
  });
  done.catch(() => undefined);
  const failed = () => {
    if (failure !== undefined) throw failure;
  };
  let rows = 0;
  let closed = false;

  return {
    path: target,
    get rowsWritten() {
      return rows;
    },
    async write(batch) {
      failed();
      const length = rowCount(def, batch, listSizes);
      const children = names.map((n, i) => columnData(def.columns[n] as ColumnType, types[i] as DataType, batch[n], length));
      writer.write(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children })));
      rows += length;
      // Let the stream drain so memory stays bounded by about one batch (or fail as it fails).
      if (hashing.writableNeedDrain) await Promise.race([new Promise<void>((resolve) => hashing.once('drain', () => resolve())), done]);
      failed();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (rows === 0) writer.write(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children: names.map((n, i) => columnData(def.columns[n] as ColumnType, types[i] as DataType, emptyOf(def.columns[n] as ColumnType), 0)) })));
      writer.finish();
      try {
        await done;
        await syncPath(tmp);
        await rename(tmp, target);
        await writeFileAtomic(checksumPathFor(target), `${hash.digest('hex')}  ${path.basename(target)}\n`);
      } catch (error) {
        await rm(tmp, { force: true });
        throw fileSystemError(error, target);
      }
    },
    async abort() {
      closed = true;
      writer.reset(); // detach from the stream without writing a footer
      sink.destroy();
      await rm(tmp, { force: true });
    },
  };
}

/** Where an artifact's sha256 is kept: `<file>.sha256`, in `sha256sum` format. */
export function checksumPathFor(file: string): string {
  return `${file}.sha256`;
}

/** The sha256 of a file, read as a stream. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Checks an artifact against the sha256 its writer recorded: a flipped bit, a partial copy or a
 * file replaced by hand is an error naming the file and the stage to rerun.
 */
async function verifyChecksum(file: string, producer: string): Promise<void> {
  const sidecar = checksumPathFor(file);
  const recorded = (await readFile(sidecar, 'utf8').catch(() => ''))
    .trim()
    .split(/\s+/)[0];
  const rerun = `rerun the ${producer} stage to rewrite it (\`npx nx run pipeline:<name> --skip-nx-cache\`); if it came from the Nx cache, \`npx nx reset\` clears a damaged cache`;
  if (!recorded) throw new GradsignError(`${file} has no checksum (${sidecar} is missing or empty): it was not written whole by gradsign`, { hint: rerun });
  const actual = await sha256File(file);
  if (actual !== recorded) {
    throw new GradsignError(`${file} is damaged: its sha256 is ${actual.slice(0, 16)}…, its writer recorded ${recorded.slice(0, 16)}…`, { hint: rerun });
  }
}

function emptyOf(type: ColumnType): unknown {
  if (type === 'utf8') return [];
  const s: Scalar = typeof type === 'object' ? type.list : type === 'bool' ? 'uint8' : type;
  return s === 'int32' ? new Int32Array(0) : s === 'float32' ? new Float32Array(0) : new Uint8Array(0);
}

function rowCount<C extends Record<string, ColumnType>>(
  def: ArtifactKind<C, z.ZodType>,
  batch: Batch<C>,
  listSizes: Partial<Record<keyof C, number>>,
): number {
  let rows: number | undefined;
  for (const [name, type] of Object.entries(def.columns)) {
    const values = batch[name as keyof C] as { length: number } | undefined;
    if (!values) throw new Error(`${def.kind}: batch lacks column ${name}`);
    const n = typeof type === 'object' ? values.length / (listSizes[name as keyof C] as number) : values.length;
    if (rows === undefined) rows = n;
    else if (n !== rows) throw new Error(`${def.kind}: column ${name} has ${n} rows, expected ${rows}`);
  }
  return rows ?? 0;
}

/**
 * Opens a writer and hands it to `fill`; closes it when `fill` succeeds, aborts it (nothing appears
 * at `target`) when `fill` throws.
 */
export async function withArtifactWriter<C extends Record<string, ColumnType>, M extends z.ZodType, T>(
  def: ArtifactKind<C, M>,
  target: string,
  metadata: z.input<M>,
  listSizes: Partial<Record<keyof C, number>>,
  fill: (writer: ArtifactWriter<C>) => Promise<T>,
): Promise<T> {
  const writer = await writeArtifact(def, target, metadata, listSizes);
  try {
    const result = await fill(writer);
    await writer.close();
    return result;
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Writes a whole artifact from an iterable of batches; returns the number of rows. */
export async function writeArtifactBatches<C extends Record<string, ColumnType>, M extends z.ZodType>(
  def: ArtifactKind<C, M>,
  target: string,
  metadata: z.input<M>,
  listSizes: Partial<Record<keyof C, number>>,
  batches: Iterable<Batch<C>> | AsyncIterable<Batch<C>>,
): Promise<number> {
  return withArtifactWriter(def, target, metadata, listSizes, async (writer) => {
    for await (const batch of batches) await writer.write(batch);
    return writer.rowsWritten;
  });
}

export interface ArtifactReader<C extends Record<string, ColumnType>, M extends z.ZodType> {
  readonly path: string;
  readonly metadata: z.infer<M>;
  readonly listSizes: Record<string, number>;
  readonly numBatches: number;
  /** Batches in file order; each one is materialised, the file is not. */
  batches(): AsyncGenerator<Batch<C>>;
  /** Reads the whole file; for small artifacts only. */
  readAll(): Promise<Batch<C>>;
  close(): Promise<void>;
}

const MAGIC = Buffer.from('ARROW1');

/** Opens an artifact, checking that it is a complete Arrow file of the expected kind and version. */
export async function readArtifact<C extends Record<string, ColumnType>, M extends z.ZodType>(
  def: ArtifactKind<C, M>,
  file: string,
): Promise<ArtifactReader<C, M>> {
  const runHint = `run the ${def.producer} stage to (re)create it (e.g. \`npx nx run pipeline:full\`)`;
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new GradsignError(`missing ${def.kind} artifact: ${file}`, { hint: runHint });
  }
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(6);
    const tail = Buffer.alloc(6);
    if (size >= 12) {
      await handle.read(head, 0, 6, 0);
      await handle.read(tail, 0, 6, size - 6);
    }
    if (!head.equals(MAGIC) || !tail.equals(MAGIC)) {
      throw new GradsignError(`${file} is not a complete Arrow IPC file (truncated, or another format)`, {
        hint: runHint,
      });
    }
    await verifyChecksum(file, def.producer);
  } catch (error) {
    await handle.close();
    throw error;
  }
  const reader = await RecordBatchReader.from(handle);
  await reader.open();
  const meta = reader.schema.metadata;
  const kind = meta.get(META_KIND);
  const version = Number(meta.get(META_VERSION));
  const fail = async (message: string) => {
    await reader.cancel();
    await handle.close().catch(() => undefined);
    return new GradsignError(`${file}: ${message}`, { hint: runHint });
  };
  if (kind !== def.kind) throw await fail(`expected a gradsign ${def.kind} artifact, found ${kind ? `a ${kind} artifact` : 'a foreign Arrow file'}`);
  if (version !== def.version) {
    throw await fail(`${def.kind} artifact has schema version ${meta.get(META_VERSION)}, this gradsign reads version ${def.version}`);
  }
  const parsed = def.metadata.safeParse(JSON.parse(meta.get(META_DOC) ?? 'null'));
  if (!parsed.success) throw await fail(`metadata does not match the ${def.kind} schema: ${parsed.error.message}`);
  const listSizes: Record<string, number> = {};
  for (const [name, type] of Object.entries(def.columns)) {
    const field = reader.schema.fields.find((f) => f.name === name);
    if (!field) throw await fail(`missing column ${name}`);
    if (typeof type === 'object') listSizes[name] = (field.type as FixedSizeList).listSize;
  }
  const numBatches = (reader as unknown as { numRecordBatches: number }).numRecordBatches;

  async function* batches(): AsyncGenerator<Batch<C>> {
    for await (const batch of reader as AsyncIterable<RecordBatch>) {
      if (batch.numRows === 0) continue;
      yield toBatch(def, batch, listSizes);
    }
  }

  return {
    path: file,
    metadata: parsed.data,
    listSizes,
    numBatches,
    batches,
    async readAll() {
      const parts: Batch<C>[] = [];
      for await (const b of batches()) parts.push(b);
      return concatBatches(def, parts);
    },
    async close() {
      await reader.cancel();
      await handle.close().catch(() => undefined);
    },
  };
}

function toBatch<C extends Record<string, ColumnType>>(
  def: ArtifactKind<C, z.ZodType>,
  batch: RecordBatch,
  listSizes: Record<string, number>,
): Batch<C> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(def.columns)) {
    const vector = batch.getChild(name)!;
    if (typeof type === 'object') {
      const data = vector.data[0] as Data<FixedSizeList>;
      const child = data.children[0] as Data;
      const size = listSizes[name] as number;
      const start = (child.offset + data.offset * size) | 0;
      out[name] = (child.values as Uint8Array).subarray(start, start + data.length * size);
    } else if (type === 'utf8') {
      out[name] = Array.from(vector.toArray() as Iterable<string>);
    } else if (type === 'bool') {
      out[name] = Uint8Array.from(vector.toArray() as Iterable<boolean>, (b) => (b ? 1 : 0));
    } else {
      out[name] = vector.toArray();
    }
  }
  return out as Batch<C>;
}

/** Concatenates batches column by column. */
export function concatBatches<C extends Record<string, ColumnType>>(
  def: ArtifactKind<C, z.ZodType>,
  parts: Batch<C>[],
): Batch<C> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(def.columns)) {
    const arrays = parts.map((p) => p[name as keyof C]) as unknown[];
    if (type === 'utf8') {
      out[name] = (arrays as string[][]).flat();
      continue;
    }
    const typed = arrays as Uint8Array[];
    const total = typed.reduce((s, a) => s + a.length, 0);
    const ctor = (typed[0]?.constructor ?? (emptyOf(type) as Uint8Array).constructor) as Uint8ArrayConstructor;
    const merged = new ctor(total);
    let offset = 0;
    for (const a of typed) {
      merged.set(a, offset);
      offset += a.length;
    }
    out[name] = merged;
  }
  return out as Batch<C>;
}
