/** Section 7 of report.html: example images, clean and attacked by every combination, with the model's answers. */
import { BUCKETS, type ReportRow, type ReportSummary } from '@gradsign/core';
import { classLabel, combinationLabel, formatEps, formatProb, seriesLabel, type Combinations } from '../format.ts';
import type { ExampleAttack, ExampleImage, FigureData } from '../gather.ts';
import { displayOptions, encodePng, perturbationBytes, pngDataUri, pngSize, toBytes, type ImageShape } from '../images.ts';
import { BUCKET_COLORS } from '../plots.ts';
import { tableOrder } from '../rows.ts';
import { bucketRange } from './buckets.ts';
import { esc } from './escape.ts';

interface Png {
  src: string;
  width: number;
  height: number;
}

function img(p: Png, alt: string): string {
  return `<img src="${p.src}" width="${p.width}" height="${p.height}" alt="${esc(alt)}" title="${esc(alt)}">`;
}

/** The section: what a card shows, then per bucket each example image with one card per combination. */
export async function examplesSection(s: ReportSummary, figures: FigureData, image: ImageShape, combinations: Combinations): Promise<string> {
  const name = (k: number) => classLabel(s.setup.classNames, k);
  const opts = displayOptions(image.height, image.width);
  const png = async (bytes: Uint8Array): Promise<Png> => {
    const buf = await encodePng(bytes, image.height, image.width, image.channels, opts);
    const { width, height } = pngSize(buf);
    return { src: pngDataUri(buf), width, height };
  };
  const order = tableOrder(s.rows);
  const byBucket = BUCKETS.map((bucket) => ({ bucket, examples: figures.examples.filter((e) => e.bucket === bucket) }));
  const blocks: string[] = [];
  for (const { bucket, examples } of byBucket) {
    blocks.push(
      `<div class="ex-bucket"><span class="dot" style="background:${BUCKET_COLORS[bucket]}"></span><h3>${bucket} confidence</h3><span class="note">${esc(bucketRange(s, bucket))}</span></div>`,
    );
    if (examples.length === 0) blocks.push('<p class="note">No images in this bucket.</p>');
    for (const ex of examples) {
      const clean = await png(ex.pixels);
      const cards: string[] = [];
      for (const c of order) {
        const a = figures.attacks.get(c.combination)?.get(ex.id);
        const label = combinationLabel(combinations.get(c.combination)!);
        cards.push(a ? await card(c, ex, a) : `<div class="card"><div class="combo" title="${esc(label)}">${esc(label)}</div><p class="small">not attacked</p></div>`);
      }
      blocks.push(`<div class="example" data-image="${ex.id}">
<div class="clean">${img(clean, `clean image ${ex.id}: ${name(ex.label)}`)}<div><b>${esc(name(ex.label))}</b></div><div>clean confidence ${formatProb(ex.confidence, 3)}</div><div class="small">image #${ex.id}</div></div>
<div class="cards">${cards.join('')}</div>
</div>`);
    }
  }
  const shown = Math.max(...byBucket.map((b) => b.examples.length));
  return `<p class="note">The ${shown} lowest image ids of each bucket (a fixed choice), clean on the left; for each combination the adversarial image, then its perturbation amplified to be visible: (x′ − x) / (2ε) + ½, so grey is unchanged, white +ε, black −ε. Below: the adversarial top-1 class and its probability (<span style="color:#cf222e">✘ fooled</span>, <span style="color:#1a7f37">✔ still correct</span>) and the probability left on the true class. Hover a card for the top five.</p>
${blocks.join('\n')}`;

  /** One combination's attack on one image: adversarial image, amplified perturbation, the model's answer. */
  async function card(c: ReportRow, ex: ExampleImage, a: ExampleAttack): Promise<string> {
    const adv = await png(toBytes(a.pixels));
    const pert = await png(perturbationBytes(a.pixels, ex.pixels, c.norm === 'linf' ? c.eps : undefined));
    const top = a.top5[0];
    const fooled = top !== ex.label;
    const top5 = a.top5.map((k, i) => `${name(k)} ${formatProb(a.top5Prob[i] ?? Number.NaN)}`).join(', ');
    const target = a.target === ex.label || a.target < 0 ? '' : ` · target ${esc(name(a.target))}`;
    const attack = combinations.get(c.combination)!;
    return `<div class="card" data-combination="${esc(c.combination)}" title="${esc(`top-5: ${top5}`)}">
<div class="combo" title="${esc(combinationLabel(attack))}"><span class="series">${esc(seriesLabel(attack))}</span><span class="small">ε ${esc(formatEps(c.eps, c.norm))}</span></div>
<div class="imgs">${img(adv, `adversarial image ${ex.id}, ${c.combination}`)}${img(pert, `perturbation of image ${ex.id}, ${c.combination}, amplified`)}</div>
<div class="pred ${fooled ? 'fooled' : 'held'}">${fooled ? '✘' : '✔'} <b>${top === undefined ? '?' : esc(name(top))}</b> ${formatProb(a.top5Prob[0] ?? Number.NaN)}</div>
<div class="small">P(${esc(name(ex.label))}) ${formatProb(a.adversarialTrueProb)}${target}</div>
</div>`;
  }
}
