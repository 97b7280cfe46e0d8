/**
 * report.html in a real browser: runs the smoke pipeline through Nx (cached after the first run),
 * opens artifacts/smoke/report/report.html from disk in Debian's headless Chromium (playwright-core)
 * and checks that it makes no network request and logs no error, that every Table 1 cell says what
 * summary.json says, that every image loaded and every plot drew; saves a full-page screenshot to
 * test-results/. Also reruns the report stage twice: report.html is byte-identical each time.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineText, planPipeline, type ReportSummary } from '@gradsign/core';
import { cellTexts, detectableText, paperCell, readReportSummary, report } from '../packages/report/src/index.ts';
import { makeFixture } from '../packages/report/test/fixture.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const REPORT_DIR = path.join(REPO, 'artifacts/smoke/report');
const HTML = path.join(REPORT_DIR, 'report.html');
const SCREENSHOT = path.join(REPO, 'test-results/report-smoke.png');
const CHROMIUM = '/usr/bin/chromium';
// Without Debian's Chromium (apt-get install chromium) the browser checks cannot run: on a
// developer's machine say so and skip them; in CI (which installs it) that is a failure.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} not found: .ci/run installs it with apt-get install -y chromium`);
if (!haveChromium) console.warn(`report-browser.test.ts: ${CHROMIUM} not found, skipping the browser checks (apt-get install chromium)`);

let browser: Browser;
let page: Page;
let summary: ReportSummary;
const requests: string[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!haveChromium) return;
  await execa('npx', ['nx', 'run', 'pipeline:smoke'], { cwd: REPO, env: { NX_DAEMON: 'false', NX_TUI: 'false' }, timeout: 300_000 });
  summary = await readReportSummary(path.join(REPORT_DIR, 'summary.json'), { pipeline: 'smoke' });

  // launch() gives Chromium a fresh, empty profile of its own (a temp user-data dir).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  // Every request is recorded; anything but file: and data: is refused.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requests.push(url);
    return /^(file|data):/.test(url) ? route.continue() : route.abort();
  });
  page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('requestfailed', (r) => consoleErrors.push(`request failed: ${r.url()}`));
  await page.goto(pathToFileURL(HTML).href, { waitUntil: 'load' });
}, 600_000);

afterAll(async () => {
  await browser?.close();
});

/** Each plot's size and how many of its marks have a non-empty box, as the browser laid them out. */
async function drawnPlots(p: Page) {
  return p.$$eval('figure.plot', (figs) =>
    figs.map((f) => {
      const svg = f.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      const marks = svg ? [...svg.querySelectorAll('g[class*="mark-"] > :is(path, rect, line, text, circle)')] : [];
      const drawn = marks.filter((m) => {
        const b = (m as unknown as { getBBox(): { width: number; height: number } }).getBBox();
        return b.width > 0 || b.height > 0;
      });
      return { id: f.id as string, width: (box?.width ?? 0) as number, height: (box?.height ?? 0) as number, drawn: drawn.length as number };
    }),
  );
}

describe.skipIf(!haveChromium)('report.html in Chromium', () => {
  it('loads from disk with no network request and no console error', async () => {
    expect(await page.title()).toBe('gradsign report — smoke');
    expect(requests).toContain(pathToFileURL(HTML).href); // the recorder sees requests
    expect(requests.filter((u) => !/^(file|data):/.test(u))).toEqual([]);
    expect(consoleErrors).toEqual([]);
    // No stylesheet, script, image, frame or media may point anywhere but a data: URI (links may).
    const external = await page.$$eval('[src], link[href], object[data], [srcset], [poster]', (els) =>
      els
        .map((e) => e.getAttribute('src') ?? e.getAttribute('href') ?? e.getAttribute('data') ?? e.getAttribute('srcset') ?? e.getAttribute('poster') ?? '')
        .filter((u) => !u.startsWith('data:')),
    );
    expect(external).toEqual([]);
    expect(await page.locator('script').count()).toBe(0);
  });

  it('shows every Table 1 cell as summary.json has it', async () => {
    const cells = await page.$$eval('#table1 td[data-combination]', (tds) =>
      tds.map((td) => ({
        combination: td.getAttribute('data-combination')!,
        bucket: td.getAttribute('data-bucket')!,
        metric: td.getAttribute('data-metric')!,
        value: td.querySelector('.v')?.textContent ?? '',
        interval: td.querySelector('.ci')?.textContent ?? '',
        delta: td.querySelector('.d')?.textContent ?? null,
      })),
    );
    expect(cells).toHaveLength(summary.rows.length * 2);
    for (const row of summary.rows) {
      for (const metric of ['top1', 'top5'] as const) {
        const cell = cells.find((c) => c.combination === row.combination && c.bucket === row.bucket && c.metric === metric);
        const expected = cellTexts(row, metric, paperCell(row.method, row.gradient)?.[row.bucket][metric]);
        expect(cell, `${row.combination} ${row.bucket} ${metric}`).toEqual({
          combination: row.combination,
          bucket: row.bucket,
          metric,
          value: expected.value,
          interval: expected.interval,
          delta: expected.delta,
        });
      }
    }
    // The paper's table beside ours: its 4 rows × 6 cells.
    expect(await page.locator('#table1 td[data-paper]').count()).toBe(24);
  });

  it('marks the four findings as summary.json has them', async () => {
    const found = await page.$$eval('[data-finding]', (els) => els.map((e) => [Number(e.getAttribute('data-finding')), e.getAttribute('data-verdict')]));
    expect(found).toEqual(summary.findings.map((f) => [f.id, f.verdict]));
    // Each card: counts after and before Holm, and what the bucket size can detect.
    const cards = await page.$$eval('[data-finding]', (els) =>
      els.map((e) => {
        const counts = e.querySelector('.counts')!;
        const n = (name: string) => Number(counts.getAttribute(name));
        return { supporting: n('data-supporting'), supportingRaw: n('data-supporting-raw'), contradicting: n('data-contradicting'), contradictingRaw: n('data-contradicting-raw'), power: e.querySelector('.power')?.textContent };
      }),
    );
    expect(cards).toEqual(
      summary.findings.map((f) => ({ supporting: f.supporting, supportingRaw: f.supportingRaw, contradicting: f.contradicting, contradictingRaw: f.contradictingRaw, power: detectableText(f) })),
    );
  });

  it('has loaded every image', async () => {
    const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ complete: i.complete, width: i.naturalWidth, src: i.src.slice(0, 22) })));
    // 3 images per bucket, each clean + 4 combinations × (adversarial + perturbation).
    expect(images).toHaveLength(3 * 3 * (1 + 4 * 2));
    for (const img of images) {
      expect(img.src).toBe('data:image/png;base64,');
      expect(img.complete).toBe(true);
      expect(img.width).toBeGreaterThan(0);
    }
  });

  it('has drawn every plot', async () => {
    const plots = await drawnPlots(page);
    // The smoke pipeline sweeps one ε: no curves, a note instead.
    expect(plots.map((p) => p.id)).toEqual(['plot-histogram', 'plot-shift']);
    expect(await page.locator('#curves').textContent()).toContain('single ε');
    for (const p of plots) {
      expect(p.width, p.id).toBeGreaterThan(200);
      expect(p.height, p.id).toBeGreaterThan(100);
      expect(p.drawn, p.id).toBeGreaterThan(10);
    }
  });

  it('links every table-of-contents entry to a section', async () => {
    const targets = await page.$$eval('nav.toc a', (as) => as.map((a) => a.getAttribute('href')!.slice(1)));
    expect(targets.length).toBeGreaterThanOrEqual(6);
    for (const id of targets) expect(await page.locator(`section#${id}`).count(), id).toBe(1);
  });

  it('saves a full-page screenshot', async () => {
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.readUInt32BE(16)).toBe(1366);
  });
});

describe.skipIf(!haveChromium)('the report stage', () => {
  it('writes a byte-identical report.html when run again', async () => {
    const file = path.join(REPO, 'pipelines/smoke.json');
    const task = planPipeline('smoke', parsePipelineText(await readFile(file, 'utf8'), file)).find((t) => t.stage === 'report')!;
    const config = task.args[task.args.indexOf('--config') + 1]!;
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'gradsign-report-twice-'));
    try {
      const hashes: string[] = [createHash('sha256').update(await readFile(HTML)).digest('hex')];
      for (const out of ['a', 'b']) {
        await execa('node', ['--import', 'tsx', 'packages/report/src/cli.ts', '--config', config, '--artifacts', 'artifacts/smoke', '--out', path.join(tmp, out)], { cwd: REPO });
        hashes.push(createHash('sha256').update(await readFile(path.join(tmp, out, 'report.html'))).digest('hex'));
      }
      expect(new Set(hashes).size).toBe(1);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});

describe.skipIf(!haveChromium)('a report with an ε sweep (synthetic artifacts)', () => {
  it('draws the error-vs-ε curves too, with no console error', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'gradsign-sweep-'));
    try {
      const fx = await makeFixture(path.join(tmp, 'artifacts', 'sweep'), { eps: ['4/255', '8/255', '16/255'], pipeline: 'sweep' });
      await report(fx.config, fx.root, path.join(tmp, 'report'));
      const p = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      const errors: string[] = [];
      const external: string[] = [];
      p.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      p.on('pageerror', (e) => errors.push(String(e)));
      p.on('request', (r) => void (/^(file|data):/.test(r.url()) || external.push(r.url())));
      await p.goto(pathToFileURL(path.join(tmp, 'report', 'report.html')).href, { waitUntil: 'load' });
      const plots = await drawnPlots(p);
      expect(plots.map((x) => x.id)).toEqual(['plot-curves', 'plot-histogram', 'plot-shift']);
      for (const x of plots) expect(x.drawn, x.id).toBeGreaterThan(10);
      expect(await p.$$eval('img', (imgs) => imgs.every((i) => i.complete && i.naturalWidth > 0))).toBe(true);
      expect(errors).toEqual([]);
      expect(external).toEqual([]);
      await p.close();
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
