/** The error-rate colour ramp of the Table 1 cells and of its legend. */

/** ColorBrewer "Reds", 0 → 100% error. */
const RAMP: [number, [number, number, number]][] = [
  [0, [255, 245, 240]],
  [0.25, [252, 187, 161]],
  [0.5, [251, 106, 74]],
  [0.75, [203, 24, 29]],
  [1, [103, 0, 13]],
];

/** Background for an error rate, and whether text on it should be light. */
export function shade(error: number): { background: string; dark: boolean } {
  const e = Math.min(1, Math.max(0, error));
  let i = 0;
  while (i < RAMP.length - 2 && e > RAMP[i + 1]![0]) i++;
  const [a, ca] = RAMP[i]!;
  const [b, cb] = RAMP[i + 1]!;
  const t = (e - a) / (b - a);
  const rgb = ca.map((v, k) => Math.round(v + (cb[k]! - v) * t));
  return { background: `rgb(${rgb.join(',')})`, dark: e > 0.62 };
}

/** The ramp as CSS gradient colour stops, for the legend. */
export function rampStops(): string {
  return RAMP.map(([at, c]) => `rgb(${c.join(',')}) ${at * 100}%`).join(',');
}
