/** The report stage on synthetic artifacts: report.html's content, byte-identical reruns, clear errors. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKETS, GradsignError, ReportSummary } from '@gradsign/core';
import { cellTexts, detectableText, paperCell, readReportSummary, report, VERDICT_RULE } from '../src/index.ts';
import { esc } from '../src/html/escape.ts';
import { prettyJson } from '../src/html/facts.ts';
import { shade } from '../src/html/shade.ts';
import { backendsUsed } from '../src/summary.ts';
import type { RunArtifacts } from '../src/gather.ts';
import { CLASS_NAMES, makeFixture, type Fixture } from './fixture.ts';

let tmp: string;
let fx: Fixture;
let html: string;
let summary: ReportSummary;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'gradsign-report-'));
  fx = await makeFixture(path.join(tmp, 'artifacts', 'fixture'));
  summary = await report(fx.config, fx.root, path.join(tmp, 'out1'));
  html = await readFile(path.join(tmp, 'out1', 'report.html'), 'utf8');
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

describe('report.html', () => {
  it('is written beside summary.json, report.md and the tables', async () => {
    const written = ReportSummary.parse(JSON.parse(await readFile(path.join(tmp, 'out1', 'summary.json'), 'utf8')));
    expect(written.rows).toHaveLength(8 * 3);
    for (const r of written.rows) {
      expect(r.top1ErrorCI).toHaveLength(2);
      expect(r.top1ErrorCI[0]).toBeLessThanOrEqual(r.top1Error);
      expect(r.top5ErrorCI[1]).toBeGreaterThanOrEqual(r.top5Error);
    }
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.length).toBeGreaterThan(20_000);
  });

  it('is byte-identical when the stage runs again', async () => {
    await report(fx.config, fx.root, path.join(tmp, 'out2'));
    for (const f of ['report.html', 'summary.json', 'report.md', 'table.csv', 'table.md']) {
      expect(await sha256(path.join(tmp, 'out2', f)), f).toBe(await sha256(path.join(tmp, 'out1', f)));
    }
  });

  it('is self-contained: no external resource, no script, no absolute path, no date', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link[^>]+stylesheet/i);
    for (const m of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) {
      expect(m[1], m[0].slice(0, 80)).toMatch(/^(data:|#|summary\.json$|table\.csv$|report\.md$)/);
    }
    expect(html).not.toMatch(/url\((?!#)/);
    expect(html).not.toContain(tmp);
    expect(html).not.toMatch(/\b20\d\d-\d\d-\d\d\b/);
  });

  it('has every Table 1 cell with its value, Wilson interval and difference from the paper', () => {
    for (const r of summary.rows) {
      for (const m of ['top1', 'top5'] as const) {
        const t = cellTexts(r, m, paperCell(r.method, r.gradient)?.[r.bucket][m]);
        const re = new RegExp(
          `data-combination="${r.combination}" data-bucket="${r.bucket}" data-metric="${m}"[^>]*><span class="v">${t.value}</span><span class="ci">${t.interval}</span><span class="d[^"]*">${t.delta!.replace('+', '\\+')}</span>`,
        );
        expect(html, `${r.combination} ${r.bucket} ${m}`).toMatch(re);
      }
    }
    // The paper's 4 rows × 6 cells, beside ours.
    expect(html.match(/data-paper="/g)).toHaveLength(24);
  });

  it('flags the one image whose gradient was all zero, and nothing else', async () => {
    const masked = fx.config.combinations[0]!;
    expect(summary.gradientDiagnostics.lossScores).toBe('logits');
    expect(summary.gradientDiagnostics.flags).toEqual([{ combination: masked, bucket: 'high', reason: expect.stringMatching(/^1 image with an all-zero gradient/) }]);
    const cell = summary.rows.find((r) => r.combination === masked && r.bucket === 'high')!;
    expect(cell.diagnostics).toMatchObject({ unperturbed: 1, allZeroGradient: 1, excessZeroGradient: 1 });
    expect(summary.rows.filter((r) => r !== cell).every((r) => r.diagnostics.unperturbed === 0 && r.diagnostics.excessZeroGradient === 0)).toBe(true);
    expect(html).toMatch(new RegExp(`<tr class="flagged" data-combination="${masked}" data-bucket="high">`));
    expect(html.match(/<tr class="flagged"/g)).toHaveLength(1);
    const md = await readFile(path.join(tmp, 'out1', 'report.md'), 'utf8');
    expect(md).toMatch(/## Gradient diagnostics\n\nThe attack loss was differentiated from the logits.*1 attacked image was left unperturbed.*Possible gradient masking in 1 cell/);
  });

  it('counts the images used although their decoder warned (preprocess/warnings.json)', async () => {
    const f = await makeFixture(path.join(tmp, 'artifacts', 'warned'), { pipeline: 'warned' });
    const warnings = [1, 2].map((i) => ({ file: `c/${i}.jpg`, category: 'jpeg-warning', warning: 'VipsJpeg: Corrupt JPEG data: premature end of data segment' }));
    await mkdir(path.join(f.root, 'preprocess'), { recursive: true });
    await writeFile(path.join(f.root, 'preprocess', 'warnings.json'), JSON.stringify(warnings));
    const warned = await report(f.config, f.root, path.join(tmp, 'out-warned'));
    expect(warned.setup.decodeWarnings).toBe(2);
    expect(summary.setup.decodeWarnings).toBeNull();
    expect(await readFile(path.join(tmp, 'out-warned', 'report.md'), 'utf8')).toContain('2 image(s) used although their decoder warned (see preprocess/warnings.json)');
  });

  it('marks the four findings with their verdicts', () => {
    for (const f of summary.findings) {
      expect(html).toContain(`data-finding="${f.id}" data-verdict="${f.verdict}"`);
    }
  });

  it('shows on each finding card the counts before and after Holm, the minimum detectable difference, and raw and Holm p per comparison', async () => {
    const cards = html.split('<article class="finding').slice(1);
    expect(cards).toHaveLength(4);
    summary.findings.forEach((f, i) => {
      const card = cards[i]!;
      expect(card).toContain(
        `data-supporting="${f.supporting}" data-supporting-raw="${f.supportingRaw}" data-contradicting="${f.contradicting}" data-contradicting-raw="${f.contradictingRaw}"`,
      );
      expect(card).toContain(`<b>${f.supporting}</b> significantly as claimed <small>(${f.supportingRaw} before Holm)</small>`);
      expect(card).toContain(`<p class="power" data-mdd="${f.minimumDetectableDifference!.value ?? ''}">${esc(detectableText(f))}</p>`);
      expect(card).toContain('<th>raw p</th><th>Holm p</th>');
      expect(card.match(/<tr class="(supports|contradicts|noise)">/g)).toHaveLength(f.comparisons);
    });
    // The fixture's finding 3 has comparisons significant at raw p only; the table says so.
    expect(summary.findings[2]!.supportingRaw + summary.findings[2]!.contradictingRaw).toBeGreaterThan(0);
    expect(cards[2]).toContain('(p &lt; 0.05 before Holm)');
    expect(html).toContain(esc(VERDICT_RULE));

    const md = await readFile(path.join(tmp, 'out1', 'report.md'), 'utf8');
    expect(md).toContain(VERDICT_RULE);
    for (const f of summary.findings) expect(md).toContain(`${f.id}. **${f.claim}** — ${f.verdict.toUpperCase()}. ${f.detail}.\n   - ${detectableText(f)}\n`);
  });

  it('renders the plots as inline SVG: curves (2 ε), histogram with thresholds, confidence shift', () => {
    for (const id of ['plot-curves', 'plot-histogram', 'plot-shift']) {
      const m = html.match(new RegExp(`<figure class="plot" id="${id}"><svg[\\s\\S]*?</svg>`));
      expect(m, id).not.toBeNull();
      expect(m![0]).toMatch(/class="mark-(line|rect|symbol|rule)/);
    }
    expect(html).toContain('medium ≥ 0.6');
    expect(html).toContain('high ≥ 0.9');
  });

  it('shows example images as PNG data URIs with class names, and the run facts', () => {
    const pngs = html.match(/src="data:image\/png;base64,/g) ?? [];
    // 3 images per bucket: 1 clean + 8 combinations × (adversarial + perturbation).
    expect(pngs).toHaveLength(3 * 3 * (1 + 8 * 2));
    for (const b of BUCKETS) for (const id of fx.ids[b].slice(0, 3)) expect(html).toContain(`data-image="${id}"`);
    expect(html).toContain(CLASS_NAMES[0]!.replace('/', '/'));
    expect(html).toContain('Ankle boot');
    expect(html).toContain('&quot;perBucket&quot;: 6');
    expect(html).toContain('quantile rule');
  });

  it('says there is no curve when the pipeline has one ε', async () => {
    const one = await makeFixture(path.join(tmp, 'artifacts', 'one-eps'), { eps: ['8/255'], pipeline: 'one-eps' });
    await report(one.config, one.root, path.join(tmp, 'out-one'));
    const page = await readFile(path.join(tmp, 'out-one', 'report.html'), 'utf8');
    expect(page).not.toContain('id="plot-curves"');
    expect(page).toContain('attacks at a single ε (8/255)');
    expect(page).toContain('id="plot-histogram"');
  });
});

describe('page helpers', () => {
  it('states one backend when every stage ran on it, else each stage\'s (per-stage backends)', () => {
    const run = (model: string, attacks: string, evaluate: string) =>
      ({ model: { backend: model }, evaluations: [{ summary: { backends: { attacks, evaluate } } }] }) as unknown as RunArtifacts;
    expect(summary.setup.backend).toBe('cpu');
    expect(backendsUsed(run('wasm', 'wasm', 'wasm'))).toBe('wasm');
    expect(backendsUsed(run('wasm', 'webgpu (mesa / software / llvmpipe)', 'webgpu (mesa / software / llvmpipe)'))).toBe(
      'model wasm; attacks webgpu (mesa / software / llvmpipe); evaluate webgpu (mesa / software / llvmpipe)',
    );
  });

  it('pretty-prints JSON with plain arrays on one line, losslessly', () => {
    const v = { seed: 0, attacks: [{ methods: ['fgsm', 'bim'], eps: [0.1, 0.2] }], empty: {}, none: [] };
    expect(prettyJson(v)).toContain('"methods": ["fgsm", "bim"]');
    expect(JSON.parse(prettyJson(v))).toEqual(v);
  });

  it('shades cells from near-white (0%) to dark red (100%), with light text on dark cells', () => {
    expect(shade(0)).toEqual({ background: 'rgb(255,245,240)', dark: false });
    expect(shade(1)).toEqual({ background: 'rgb(103,0,13)', dark: true });
    expect(shade(0.5).background).toBe('rgb(251,106,74)');
  });
});

describe('bad input', () => {
  const expectError = async (promise: Promise<unknown>, message: RegExp, hint: RegExp) => {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(GradsignError);
    expect((error as GradsignError).message).toMatch(message);
    expect((error as GradsignError).hint).toMatch(hint);
  };

  it('names a missing artifacts directory', async () => {
    await expectError(report(fx.config, path.join(tmp, 'nowhere'), path.join(tmp, 'o')), /no artifacts directory at .*nowhere/, /npx nx run pipeline:fixture/);
  });

  it('names a missing evaluation and the stage to run', async () => {
    const f = await makeFixture(path.join(tmp, 'artifacts', 'missing-eval'), { pipeline: 'missing-eval' });
    const id = f.config.combinations[1]!;
    await unlink(path.join(f.root, 'evaluate', id, 'summary.json'));
    await expectError(report(f.config, f.root, path.join(tmp, 'o')), new RegExp(`missing evaluation of ${id}: .*summary\\.json`), new RegExp(`evaluate stage for combination ${id}.*pipeline:missing-eval`));
  });

  it('names an evaluation summary of an older schema version', async () => {
    const f = await makeFixture(path.join(tmp, 'artifacts', 'old-eval'), { pipeline: 'old-eval' });
    const id = f.config.combinations[0]!;
    const file = path.join(f.root, 'evaluate', id, 'summary.json');
    const old = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...old, schemaVersion: 0 }));
    await expectError(report(f.config, f.root, path.join(tmp, 'o')), /has schema version 0; this gradsign reads version 2/, /another gradsign version: rerun the evaluate stage/);
  });

  it('names a truncated JSON file', async () => {
    const f = await makeFixture(path.join(tmp, 'artifacts', 'cut'), { pipeline: 'cut' });
    await writeFile(path.join(f.root, 'model', 'model-info.json'), '{"schemaVersion": 1, "sou');
    await expectError(report(f.config, f.root, path.join(tmp, 'o')), /model info .*model-info\.json is not valid JSON/, /rerun the model stage/);
  });

  it('names a missing adversarial artifact and its attack', async () => {
    const f = await makeFixture(path.join(tmp, 'artifacts', 'no-adv'), { pipeline: 'no-adv' });
    const id = f.config.combinations[2]!;
    await unlink(path.join(f.root, 'attacks', id, 'adversarial.arrow'));
    await expectError(report(f.config, f.root, path.join(tmp, 'o')), /missing adversarial artifact: .*adversarial\.arrow/, new RegExp(`attacks stage for combination ${id}`));
  });

  it('names a report summary of another schema version', async () => {
    const file = path.join(tmp, 'out1', 'summary.json');
    expect((await readReportSummary(file)).rows).toHaveLength(24);
    const old = path.join(tmp, 'old-summary.json');
    for (const version of [1, 3]) {
      await writeFile(old, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), schemaVersion: version }));
      await expectError(readReportSummary(old, { pipeline: 'fixture' }), new RegExp(`report summary .* has schema version ${version}; this gradsign reads version 2`), /rerun the report stage .*pipeline:fixture/);
    }
  });

  it('names a missing bucketing artifact', async () => {
    const f = await makeFixture(path.join(tmp, 'artifacts', 'no-clean'), { pipeline: 'no-clean' });
    await unlink(path.join(f.root, 'bucketing', 'clean-predictions.arrow'));
    await expectError(report(f.config, f.root, path.join(tmp, 'o')), /missing clean-predictions artifact/, /run the bucketing stage/);
  });
});
