/**
 * Ground-truth files of the `flat` image-folder layout: a CSV `file,label`, or ILSVRC2012's
 * validation ground truth (one ILSVRC2012_ID a line) with the synset map that turns those ids
 * into synset ids (docs/bring-your-own-model.md).
 */
import { readFile } from 'node:fs/promises';
import { GradsignError, SYNSET_ID } from '@gradsign/core';

async function readText(file: string, field: string, what: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch {
    throw new GradsignError(`${field}: cannot read ${what} ${file}`, { hint: `set ${field} to an existing file (paths are relative to the working directory)` });
  }
}

/** Lines without trailing blanks; keeps 1-based line numbers for messages. */
function lines(text: string): { line: number; text: string }[] {
  const out = text.split(/\r?\n/).map((t, i) => ({ line: i + 1, text: t.trim() }));
  while (out.length && out[out.length - 1]!.text === '') out.pop();
  return out;
}

/** Splits one CSV record (RFC 4180 quoting: "a, b" and "" for a quote). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (ch === ',') {
      fields.push(field.trim());
      field = '';
    } else field += ch;
  }
  fields.push(field.trim());
  return fields;
}

export interface CsvRow {
  line: number;
  file: string;
  label: string;
}

const HEADER_NAMES = new Set(['file', 'filename', 'file_name', 'path', 'image', 'name']);

/** Reads `file,label` rows; a first row whose first field is e.g. "file" or "path" is a header. */
export async function readCsvGroundTruth(file: string): Promise<CsvRow[]> {
  const field = 'dataset.groundTruth';
  const rows: CsvRow[] = [];
  for (const { line, text } of lines(await readText(file, field, 'ground-truth CSV'))) {
    if (!text) continue;
    const cells = splitCsvLine(text);
    if (rows.length === 0 && line === 1 && HEADER_NAMES.has(cells[0]!.toLowerCase())) continue;
    if (cells.length !== 2 || !cells[0] || !cells[1]) {
      throw new GradsignError(`${file}:${line}: expected "file,label", got "${text}"`, {
        hint: 'one image a line: its path relative to dataset.dir, a comma, and a class name, synset id or 0-based class index',
      });
    }
    rows.push({ line, file: cells[0], label: cells[1] });
  }
  if (!rows.length) throw new GradsignError(`${file} lists no images`, { hint: 'one "file,label" line per image' });
  return rows;
}

/** ILSVRC2012_validation_ground_truth.txt: the ILSVRC2012_ID (1–1000) of each validation image, in file-name order. */
export async function readIlsvrcGroundTruth(file: string): Promise<Int32Array> {
  const rows = lines(await readText(file, 'dataset.groundTruth', 'ILSVRC2012 ground truth'));
  const ids = new Int32Array(rows.length);
  for (const [i, { line, text }] of rows.entries()) {
    const id = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!(id >= 1 && id <= 1000)) {
      throw new GradsignError(`${file}:${line}: expected an ILSVRC2012_ID between 1 and 1000, got "${text}"`, {
        hint: 'dataset.groundTruth must be ILSVRC2012_validation_ground_truth.txt from the ILSVRC2012 devkit (or set groundTruthFormat to "csv")',
      });
    }
    ids[i] = id;
  }
  return ids;
}

/** The synset id of each ILSVRC2012_ID (index 0 ↔ ID 1); only each line's first word counts. */
export async function readSynsetMap(file: string): Promise<string[]> {
  const synsets = lines(await readText(file, 'dataset.synsetMap', 'synset map')).map(({ line, text }) => {
    const id = text.split(/[\s,]+/)[0] ?? '';
    if (!SYNSET_ID.test(id)) {
      throw new GradsignError(`${file}:${line}: expected a WordNet synset id such as n01440764, got "${text}"`, {
        hint: 'dataset.synsetMap lists the synset ids in ILSVRC2012_ID order (meta.mat order); docs/bring-your-own-model.md shows how to write it',
      });
    }
    return id;
  });
  if (synsets.length < 1000) {
    throw new GradsignError(`${file} lists ${synsets.length} synset ids; ILSVRC2012 has 1000 (ILSVRC2012_ID 1–1000)`, {
      hint: 'write all 1000 synset ids of meta.mat, in ILSVRC2012_ID order',
    });
  }
  return synsets;
}
