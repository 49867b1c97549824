/**
 * Behaviour of the drift metrics beyond the scipy goldens (golden.test.ts): input forms agree (cached
 * pre-sorted baseline vs raw column, dictionary codes vs strings), row order does not matter, bad input is
 * refused, and the verdict rules' edges.
 */
import { describe, expect, it } from 'vitest';
import { categoricalDrift } from './categorical.js';
import { columnVerdict, datasetVerdict, defaultStatTest } from './evidently.js';
import { ks2sampPValue, roundHalfEven } from './ks.js';
import { numericDrift, prepareNumeric } from './numeric.js';
import { categoricalSample, numericSample } from './recipes.js';

describe('numeric drift inputs', () => {
  const a = numericSample({ seed: 7, n: 3000, dist: 'normal', nan: 0.02, posinf: 0.01 });
  const b = numericSample({ seed: 8, n: 2500, dist: 'normal', loc: 0.2 });

  it('a cached, prepared baseline gives the same result as the raw column', () => {
    const prepared = prepareNumeric(a);
    expect(numericDrift(prepared, b)).toEqual(numericDrift(a, b));
    // A baseline that is already sorted can skip the sort.
    const sortedFinite = Float64Array.from(prepared.sorted);
    expect(prepareNumeric(sortedFinite, { sorted: true }).sorted).toEqual(prepared.sorted);
  });

  it('does not depend on row order', () => {
    const reversed = Float64Array.from(a).reverse();
    const m1 = numericDrift(a, b);
    const m2 = numericDrift(reversed, b);
    expect(m2.ks).toEqual(m1.ks);
    expect(m2.wasserstein).toBe(m1.wasserstein);
    expect(m2.energy).toBe(m1.energy);
  });

  it('counts and drops NaN and ±Infinity', () => {
    const m = numericDrift([1, NaN, 2, Infinity, -Infinity, 3], [2, 3, 4]);
    expect(m.baseline).toMatchObject({ rows: 6, count: 3, missing: 1, infinite: 2, min: 1, max: 3, mean: 2 });
  });

  it('refuses a side without finite values', () => {
    expect(() => numericDrift([NaN, Infinity], [1, 2])).toThrow(RangeError);
    expect(() => numericDrift([1], [])).toThrow(RangeError);
  });

  it('identical samples: zero distances, D = 0, p = 1', () => {
    const m = numericDrift(a, a);
    expect([m.wasserstein, m.energy, m.ks.statistic, m.ks.pValue, m.psi]).toEqual([0, 0, 0, 1, 0]);
  });
});

describe('KS p-value path selection', () => {
  it('uses the exact path up to 10,000 rows per side and the asymptotic one above', () => {
    expect(ks2sampPValue(0.02, 10000, 10000).method).toBe('exact');
    expect(ks2sampPValue(0.02, 10000, 10001).method).toBe('asymp');
  });
  it('rounds n1·n2/(n1+n2) half to even, as numpy', () => {
    expect([0.5, 1.5, 2.5, 5000.5, -0.5, 2.4999].map(roundHalfEven)).toEqual([0, 2, 2, 5000, -0, 2]);
  });
});

describe('categorical drift inputs', () => {
  const a = categoricalSample({ seed: 3, n: 1500, k: 6, nulls: 0.05 });
  const b = categoricalSample({ seed: 4, n: 1200, k: 6, skew: true, offset: 1 });

  const encode = (xs: (string | null)[], dictionary: string[]) => ({
    codes: Int32Array.from(xs, (x) => (x === null ? -1 : dictionary.indexOf(x))),
    dictionary,
  });

  it('dictionary-encoded columns give the same result as strings', () => {
    const dict = [...new Set([...a, ...b].filter((x): x is string => x !== null))].reverse();
    const unused = [...dict, 'never-seen'];
    expect(categoricalDrift(encode(a, unused), encode(b, dict))).toEqual(categoricalDrift(a, b));
  });

  it('a category present on one side only counts in every distance', () => {
    const m = categoricalDrift(['x', 'x', 'y'], ['x', 'z']);
    expect(m.baseline.unique).toBe(2);
    expect(m.chiSquare.pValue).toBe(0); // expected count 0 for 'z' → statistic ∞
    expect(m.euclidean).toBeCloseTo(Math.sqrt((2 / 3 - 1 / 2) ** 2 + (1 / 3) ** 2 + (1 / 2) ** 2), 15);
  });

  it('null is its own category for the Euclidean distance only', () => {
    const m = categoricalDrift(['x', null], ['x', 'x']);
    expect(m.euclidean).toBeCloseTo(Math.sqrt(0.5 ** 2 + 0.5 ** 2), 15);
    expect(m.jensenShannon).toBe(0);
  });
});

describe('Evidently verdicts', () => {
  it('chooses the test by baseline size and distinct values', () => {
    expect(defaultStatTest('numeric', 1000, 2)).toBe('z');
    expect(defaultStatTest('numeric', 1000, 5)).toBe('chisquare');
    expect(defaultStatTest('numeric', 1000, 6)).toBe('ks');
    expect(defaultStatTest('numeric', 1001, 5)).toBe('jensenshannon');
    expect(defaultStatTest('numeric', 1001, 6)).toBe('wasserstein');
    expect(defaultStatTest('categorical', 1000, 3)).toBe('chisquare');
    expect(defaultStatTest('categorical', 1001, 3)).toBe('jensenshannon');
  });

  it('a share of exactly 0.5 drifted columns is dataset drift', () => {
    const same = numericSample({ seed: 1, n: 500, dist: 'normal' });
    const shifted = numericSample({ seed: 2, n: 500, dist: 'normal', loc: 1 });
    const v = datasetVerdict([
      { name: 'a', type: 'numeric', baseline: same, target: shifted },
      { name: 'b', type: 'numeric', baseline: same, target: same },
    ]);
    expect(v.columns.map((c) => [c.stattest, c.drifted])).toEqual([
      ['ks', true],
      ['ks', false],
    ]);
    expect(v).toMatchObject({ driftedColumns: 1, share: 0.5, datasetDrift: true });
  });

  it('an explicit test and threshold override the defaults', () => {
    const v = columnVerdict(
      { name: 'c', type: 'categorical', baseline: ['a', 'b', 'c'], target: ['a', 'b', 'd'] },
      { stattest: 'psi', threshold: 100 },
    );
    expect(v).toMatchObject({ stattest: 'psi', threshold: 100, drifted: false });
    expect(() =>
      columnVerdict({ name: 'c', type: 'categorical', baseline: ['a'], target: ['a'] }, { stattest: 'ks' }),
    ).toThrow(/does not apply/);
  });
});
