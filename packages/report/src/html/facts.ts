/** The last section of report.html: the run's facts and its resolved pipeline config. */
import type { PipelineConfig, ReportRow, ReportSummary } from '@gradsign/core';
import { formatCount, formatEps, formatPct } from '../format.ts';
import type { ImageShape } from '../images.ts';
import { combinationRows } from '../rows.ts';
import { ruleText } from './buckets.ts';
import { esc } from './escape.ts';

/** The section: the run's setup as a definition list, then the resolved pipeline file. */
export function factsSection(s: ReportSummary, pipeline: PipelineConfig, image: ImageShape): string {
  const combos = combinationRows(s.rows).map((c) => c.combo);
  const q = s.setup.buckets.qualified;
  const facts: [string, string][] = [
    ['Pipeline', `<code>${esc(s.pipeline)}</code>`],
    ['Dataset', `${esc(s.setup.dataset)}${s.setup.preset ? ` (preprocessing preset <code>${esc(s.setup.preset)}</code>)` : ''}; input ${image.height}×${image.width}×${image.channels}` +
      (s.setup.rejected ? `; ${s.setup.rejected} source file(s) rejected as unreadable (preprocess/rejects.json)` : '') +
      (s.setup.decodeWarnings ? `; ${s.setup.decodeWarnings} image(s) used although their decoder warned of corrupt data (preprocess/warnings.json)` : '')],
    ['Model', `${esc(s.setup.model)}; test accuracy ${s.setup.modelAccuracy === null ? 'n/a' : formatPct(s.setup.modelAccuracy)}`],
    ['Clean accuracy', `top-1 ${formatPct(s.setup.cleanAccuracy.top1)}, top-5 ${formatPct(s.setup.cleanAccuracy.top5)} on ${formatCount(s.setup.cleanAccuracy.n)} evaluated images`],
    ['Classes', `${s.setup.numClasses}: ${s.setup.classNames.map((c, i) => `${i} ${esc(c)}`).join(', ')}`],
    ['Buckets', `${esc(ruleText(s))}`],
    ['Sampled', `${s.setup.buckets.perBucket} correctly classified images per bucket (seeded), ${s.setup.images} in all; qualified: low ${q.low ?? 0}, medium ${q.medium ?? 0}, high ${q.high ?? 0}`],
    ['Attacks', `${combos.length} combinations: ${combos.map((c) => `<code>${esc(c.combination)}</code>`).join(', ')}`],
    ['Iterative steps', iterativeSteps(combos)],
    ['Evaluation', s.setup.quantize ? 'adversarial images rounded to 8 bits (as a PNG would store them) before classification' : 'adversarial images classified as float32'],
    ['Backend', `<code>${esc(s.setup.backend)}</code> (tfjs)`],
    ['Seed', String(s.setup.seed)],
  ];
  return `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
<h3>Pipeline configuration</h3>
<p class="note">The resolved <code>pipelines/${esc(s.pipeline)}.json</code>, defaults filled in.</p>
<pre>${esc(prettyJson(pipeline))}</pre>`;
}

/** JSON with two-space indents, arrays of plain values on one line. */
export function prettyJson(value: unknown, indent = ''): string {
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    return `[\n${value.map((v) => inner + prettyJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** "ε 4/255: 5 steps of α 1/255; …" for the multi-step combinations, one entry per distinct setting. */
function iterativeSteps(combos: ReportRow[]): string {
  const multi = combos.filter((c) => c.steps > 1);
  if (multi.length === 0) return '–';
  const settings = new Map<string, string[]>();
  for (const c of multi) {
    const key = `ε ${formatEps(c.eps, c.norm)}: ${c.steps} steps of α ${formatEps(c.alpha, c.norm)}`;
    settings.set(key, [...(settings.get(key) ?? []), c.method.toUpperCase()]);
  }
  return [...settings].map(([k, methods]) => `${esc(k)} (${esc([...new Set(methods)].join(', '))})`).join('; ');
}
