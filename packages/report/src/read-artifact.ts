/**
 * Reading one artifact of a pipeline, failing clearly: every error names the file, what is wrong
 * with it, and the stage (and command) that makes it.
 */
import { readFile } from 'node:fs/promises';
import { GradsignError, readArtifact, ReportSummary, type ArtifactKind, type ArtifactReader, type ColumnType } from '@gradsign/core';
import type { z, ZodType } from 'zod';

export interface GatherOptions {
  /** The pipeline's name, for the command in hints (`npx nx run pipeline:<name>`). */
  pipeline?: string;
}

/** `stage`: what to run, e.g. "model stage" or "evaluate stage for combination <id>". */
function runHint(stage: string, options: GatherOptions): string {
  const command = `npx nx run pipeline:${options.pipeline ?? '<name>'}`;
  return `run the ${stage} first (\`${command}\` runs every stage that is missing or out of date)`;
}

/** Reads and validates a JSON artifact; a missing file, bad JSON, another schema version each get their own message. */
export async function readJsonArtifact<T>(file: string, schema: ZodType<T>, stage: string, what: string, options: GatherOptions = {}): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new GradsignError(`missing ${what}: ${file}`, { hint: runHint(stage, options) });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new GradsignError(`${what} ${file} is not valid JSON (${(error as Error).message}); it was probably cut short`, {
      hint: `re${runHint(stage, options)}`,
    });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const hasVersion = raw !== null && typeof raw === 'object' && 'schemaVersion' in raw;
    const expected = schemaVersionOf(schema);
    const found = hasVersion ? (raw as { schemaVersion: unknown }).schemaVersion : undefined;
    const versionProblem = expected !== undefined && found !== expected;
    const message = versionProblem
      ? `${what} ${file} has schema version ${found === undefined ? '(none)' : JSON.stringify(found)}; this gradsign reads version ${expected}`
      : `${what} ${file} does not match what this gradsign reads: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')}`;
    throw new GradsignError(message, {
      hint: `it was written by another gradsign version: re${runHint(stage, options)}`,
    });
  }
  return parsed.data;
}

/** The literal `schemaVersion` a zod object schema demands, if any. */
function schemaVersionOf(schema: ZodType): number | undefined {
  const shape = (schema as unknown as { shape?: Record<string, { def?: { values?: unknown[] } }> }).shape;
  const v = shape?.schemaVersion?.def?.values?.[0];
  return typeof v === 'number' ? v : undefined;
}

/** Opens an Arrow artifact; errors keep readArtifact's message, with a hint that names the stage and the command. */
export async function openArtifact<C extends Record<string, ColumnType>, M extends z.ZodType>(
  def: ArtifactKind<C, M>,
  file: string,
  stage: string,
  options: GatherOptions = {},
): Promise<ArtifactReader<C, M>> {
  try {
    return await readArtifact(def, file);
  } catch (error) {
    if (error instanceof GradsignError) throw new GradsignError(error.message, { hint: runHint(stage, options), cause: error });
    throw error;
  }
}

/** Reads a report's summary.json (for tools that read a finished report), checking its schema version. */
export async function readReportSummary(file: string, options: GatherOptions = {}): Promise<ReportSummary> {
  return readJsonArtifact(file, ReportSummary, 'report stage', 'report summary', options);
}
