/**
 * The histogram GBDT's pieces: binning thresholds equal to scikit-learn 1.2.1's `_BinMapper` (fixture from
 * scripts/golden/drift_classifier.py, duplicates removed), bin mapping rules, and a fit that separates
 * what it should.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { binFeatures, MISSING_BIN, numericThresholds } from './gbdt-binning.js';
import { fitGbdt, GBDT_DEFAULTS, predictRaw } from './gbdt.js';
import { mulberry32 } from './prng.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/drift/classifier.json', import.meta.url));
interface BinRecipe {
  seed: number;
  n: number;
  quantum: number;
  nan: number;
}
const binning = (
  JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
    binning: { name: string; recipe: BinRecipe; thresholds: number[]; sklearnCount: number }[];
  }
).binning;

/** Mirror of binning_cases: n normals, snapped to `quantum`, then one uniform per row for NaN. */
function column(r: BinRecipe): Float64Array {
  const rng = mulberry32(r.seed);
  const x = Float64Array.from({ length: r.n }, () => rng.normal());
  if (r.quantum > 0) for (let i = 0; i < r.n; i++) x[i] = Math.floor(x[i]! / r.quantum) * r.quantum;
  if (r.nan > 0) for (let i = 0; i < r.n; i++) if (rng.uniform() < r.nan) x[i] = NaN;
  return x;
}
const all = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

describe('binning', () => {
  it.each(binning.map((c) => [c.name, c] as const))('thresholds equal sklearn _BinMapper: %s', (_, c) => {
    const th = numericThresholds(column(c.recipe), all(c.recipe.n));
    expect(Array.from(th)).toEqual(c.thresholds);
    expect(th.length).toBeLessThanOrEqual(254);
  });

  it('fixtures include a column whose percentiles repeat (sklearn keeps the duplicates, we drop them)', () => {
    expect(binning.some((c) => c.thresholds.length < c.sklearnCount)).toBe(true);
  });

  it('NaN → missing bin, ±Infinity → outer bins, x ≤ threshold → lower bin', () => {
    const values = [1, 2, 3, NaN, Infinity, -Infinity, 2, 1];
    const d = binFeatures([{ kind: 'numeric', values }], all(values.length));
    expect(Array.from(d.thresholds[0]!)).toEqual([1.5, 2.5]);
    expect(Array.from(d.bins)).toEqual([0, 1, 2, MISSING_BIN, 2, 0, 1, 0]);
    expect(d.nBins[0]).toBe(3);
  });

  it('each value lands in the bin a plain binary search gives (254, 100 and 0 thresholds, edge values)', () => {
    const rng = mulberry32(5);
    // 5104 values, 5101 finite: 5100 is a multiple of 255, so every percentile threshold is one of the values.
    for (const [n, distinct] of [
      [5104, 0],
      [3000, 100],
      [50, 1],
    ] as const) {
      // Normals (254 percentile thresholds), or `distinct` values (midpoint thresholds), plus edge values.
      const values = Float64Array.from({ length: n }, () =>
        distinct ? Math.floor(rng.uniform() * distinct) : rng.normal(),
      );
      const edges = [NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, -Number.MAX_VALUE];
      edges.forEach((v, j) => (values[j * 7] = v));
      const d = binFeatures([{ kind: 'numeric', values }], all(n));
      const th = d.thresholds[0]!;
      if (!distinct) expect(values.filter((v) => th.includes(v)).length).toBeGreaterThan(100);
      const expected = Array.from(values, (v) => {
        if (Number.isNaN(v)) return MISSING_BIN;
        let lo = 0;
        let hi = th.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (v <= th[mid]!) hi = mid;
          else lo = mid + 1;
        }
        return lo;
      });
      expect(Array.from(d.bins), `${n} rows, ${th.length} thresholds`).toEqual(expected);
    }
    // No threshold at all (a constant column): every value in bin 0.
    const constant = binFeatures([{ kind: 'numeric', values: [4, 4, Infinity, -Infinity] }], all(4));
    expect(Array.from(constant.bins)).toEqual([0, 0, 0, 0]);
  });

  it('categorical codes: own bin each (ascending code), negatives missing, > 255 codes fold into "other"', () => {
    const d = binFeatures([{ kind: 'categorical', codes: [7, 3, -1, 3, 9] }], all(5));
    expect(Array.from(d.bins)).toEqual([1, 0, MISSING_BIN, 0, 2]);
    expect(d.categorical[0]).toBe(1);
    // 300 codes: code c appears c + 1 times, so the 254 most frequent are 46…299 and 0…45 share bin 254.
    const codes: number[] = [];
    for (let c = 0; c < 300; c++) for (let k = 0; k <= c; k++) codes.push(c);
    const big = binFeatures([{ kind: 'categorical', codes }], all(codes.length));
    expect(big.nBins[0]).toBe(255);
    expect(big.bins[0]).toBe(254);
    expect(big.bins[codes.length - 1]).toBe(253);
    expect(big.bins[codes.indexOf(46)]).toBe(0);
  });
});

describe('fitGbdt', () => {
  it('learns a step in one feature and ignores the other; gains land on the step feature', () => {
    const n = 2000;
    const rng = mulberry32(3);
    const x = Float64Array.from({ length: n }, () => rng.int(100) / 100); // 100 values: exact bins
    const noise = Float64Array.from({ length: n }, () => rng.uniform());
    const y = Uint8Array.from(x, (v) => (v > 0.6 ? 1 : 0));
    const data = binFeatures(
      [
        { kind: 'numeric', values: noise },
        { kind: 'numeric', values: x },
      ],
      all(n),
    );
    const gain = new Float64Array(2);
    const model = fitGbdt(data, all(n), y, undefined, { ...GBDT_DEFAULTS, maxIter: 20 }, mulberry32(1), gain);
    const raw = predictRaw(model, data, all(n));
    let correct = 0;
    for (let i = 0; i < n; i++) if (raw[i]! > 0 === (y[i] === 1)) correct++;
    expect(correct).toBe(n);
    expect(gain[1]! / (gain[0]! + gain[1]!)).toBeGreaterThan(0.99);
    expect(model.trees).toHaveLength(20);
  });

  it('a categorical feature splits natively: two of four categories versus the rest', () => {
    const n = 1200;
    const codes = Int32Array.from({ length: n }, (_, i) => i % 4);
    const y = Uint8Array.from(codes, (c) => (c === 1 || c === 3 ? 1 : 0));
    const data = binFeatures([{ kind: 'categorical', codes }], all(n));
    const gain = new Float64Array(1);
    const model = fitGbdt(data, all(n), y, undefined, { ...GBDT_DEFAULTS, maxIter: 1 }, mulberry32(1), gain);
    const t = model.trees[0]!;
    expect(t.left[1]).toBe(-1); // one split separates them: both children are leaves
    const raw = predictRaw(model, data, all(n));
    for (let i = 0; i < 4; i++) expect(raw[i]! > 0).toBe(y[i] === 1);
  });
});
