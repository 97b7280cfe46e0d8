/**
 * Class lists ("label files"), shared by preprocess (mapping folder names and ground truth to
 * label indices) and model (class names, output count check). One class a line, in the model's
 * output order after `labelOffset`:
 *
 *   tench                          a class name
 *   n01440764 tench, Tinca tinca   a WordNet synset id, then (optionally) the name (TF-slim's
 *                                  imagenet_metadata.txt; a tab or comma also separates them)
 *
 * A `.json` file may be Keras' imagenet_class_index.json ({"0": ["n01440764", "tench"], …}) or an
 * array of names. Blank lines at the end are ignored; a blank line in between is an error (it
 * would shift every later class by one).
 */
import { readFile } from 'node:fs/promises';
import { GradsignError } from './errors.ts';

export interface ClassLabel {
  /** Display name (the synset id when the line has nothing else). */
  name: string;
  /** WordNet id such as n01440764, when the file gives one. */
  synset?: string;
}

const SYNSET_LINE = /^(n\d{8})(?:[\s,:]+(.*))?$/;
export const SYNSET_ID = /^n\d{8}$/;

export function parseLabelText(text: string, source: string): ClassLabel[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines.map((raw, i) => {
    const line = raw.trim();
    if (!line) {
      throw new GradsignError(`${source}:${i + 1} is blank; every line must name one class, in the model's output order`, {
        hint: 'remove the blank line (or name the class)',
      });
    }
    const m = SYNSET_LINE.exec(line);
    if (m) return { synset: m[1]!, name: m[2]?.trim() || m[1]! };
    return { name: line };
  });
}

function parseLabelJson(text: string, source: string): ClassLabel[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new GradsignError(`${source} is not valid JSON: ${(error as Error).message}`, {
      hint: 'give a text file with one class a line, or Keras\' imagenet_class_index.json',
    });
  }
  if (Array.isArray(doc) && doc.every((v) => typeof v === 'string')) return parseLabelText((doc as string[]).join('\n'), source);
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const entries = Object.entries(doc as Record<string, unknown>);
    const labels: ClassLabel[] = [];
    for (const [key, value] of entries) {
      const index = Number(key);
      const ok = Number.isInteger(index) && index >= 0 && index < entries.length;
      if (!ok || !Array.isArray(value) || typeof value[0] !== 'string' || typeof value[1] !== 'string') {
        throw new GradsignError(`${source}: entry "${key}" is not of the form "<index>": ["<synset>", "<name>"]`, {
          hint: 'use Keras\' imagenet_class_index.json as is, or a text file with one class a line',
        });
      }
      labels[index] = SYNSET_ID.test(value[0]) ? { synset: value[0], name: value[1] } : { name: value[1] };
    }
    return labels;
  }
  throw new GradsignError(`${source}: expected an array of names or {"<index>": ["<synset>", "<name>"]}`, {
    hint: 'use Keras\' imagenet_class_index.json as is, or a text file with one class a line',
  });
}

/** Reads a label file; `field` names the config field that points at it, for error messages. */
export async function readLabelFile(file: string, field: string): Promise<ClassLabel[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new GradsignError(`${field}: cannot read label file ${file}`, {
      hint: 'give a text file with one class name a line, in the model\'s output order (docs/bring-your-own-model.md)',
    });
  }
  const labels = file.toLowerCase().endsWith('.json') ? parseLabelJson(text, file) : parseLabelText(text, file);
  if (labels.length < 2) {
    throw new GradsignError(`${field}: ${file} lists ${labels.length} class(es); a classifier needs at least 2`, {
      hint: 'check that the file has one class a line',
    });
  }
  return labels;
}

/**
 * Finds classes by synset id or by name. Names can repeat (ImageNet has two "crane" and two
 * "maillot" classes): such a name is ambiguous and lookups of it fail with a hint to use ids.
 */
export class ClassIndex {
  private readonly bySynset = new Map<string, number>();
  private readonly byName = new Map<string, number>();
  private readonly ambiguous = new Set<string>();

  constructor(readonly labels: readonly ClassLabel[]) {
    labels.forEach((label, i) => {
      if (label.synset !== undefined) this.bySynset.set(label.synset, i);
      if (this.byName.has(label.name) && this.byName.get(label.name) !== i) this.ambiguous.add(label.name);
      else this.byName.set(label.name, i);
    });
  }

  get size(): number {
    return this.labels.length;
  }

  get hasSynsets(): boolean {
    return this.bySynset.size > 0;
  }

  /** The class index of a synset id or class name; undefined when unknown. Throws when ambiguous. */
  find(key: string, where: string): number | undefined {
    const bySynset = this.bySynset.get(key);
    if (bySynset !== undefined) return bySynset;
    if (this.ambiguous.has(key)) {
      throw new GradsignError(`${where}: class name "${key}" names more than one class in the label file`, {
        hint: 'refer to classes by synset id (e.g. n01440764): put the ids in the label file ("n01440764 tench")',
      });
    }
    return this.byName.get(key);
  }
}
