/**
 * MCC and ROC AUC against scikit-learn 1.2.1 (fixtures from scripts/golden/drift_classifier.py): exact
 * equality, including ties, constant predictions and one-class labels.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  confusion,
  matthewsCorrcoef,
  mccFromConfusion,
  pairwiseSum,
  rocAucScore,
} from './classifier-metrics.js';
import { mulberry32 } from './prng.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/drift/classifier.json', import.meta.url));

interface MccRecipe {
  seed: number;
  n: number;
  pos: number;
  flip: number;
}
interface AucRecipe {
  seed: number;
  n: number;
  pos: number;
  levels: number;
  shift: number;
}
interface Fixture {
  mcc: { name: string; yTrue?: number[]; yPred?: number[]; recipe?: MccRecipe; expected: number }[];
  auc: {
    name: string;
    yTrue?: number[];
    score?: number[];
    recipe?: AucRecipe;
    expected?: number;
    error?: string;
  }[];
}
const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;

/** Mirror of mcc_recipe in the generator: per row a label draw, then a flip draw. */
function mccRecipe(r: MccRecipe): [Uint8Array, Uint8Array] {
  const rng = mulberry32(r.seed);
  const y = new Uint8Array(r.n);
  const p = new Uint8Array(r.n);
  for (let i = 0; i < r.n; i++) {
    y[i] = rng.uniform() < r.pos ? 1 : 0;
    p[i] = y[i]! ^ (rng.uniform() < r.flip ? 1 : 0);
  }
  return [y, p];
}

/** Mirror of auc_recipe: per row a label draw, then a score draw (snapped to `levels`, plus shift·y). */
function aucRecipe(r: AucRecipe): [Uint8Array, Float64Array] {
  const rng = mulberry32(r.seed);
  const y = new Uint8Array(r.n);
  const s = new Float64Array(r.n);
  for (let i = 0; i < r.n; i++) {
    y[i] = rng.uniform() < r.pos ? 1 : 0;
    const u = rng.uniform();
    s[i] = (r.levels > 0 ? Math.floor(u * r.levels) / r.levels : u) + r.shift * y[i]!;
  }
  return [y, s];
}

describe('matthewsCorrcoef equals sklearn.metrics.matthews_corrcoef', () => {
  it.each(fixture.mcc.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const [y, p] = c.recipe ? mccRecipe(c.recipe) : [c.yTrue!, c.yPred!];
    expect(matthewsCorrcoef(y, p)).toBe(c.expected);
  });

  it('covers the degenerate cases sklearn maps to 0', () => {
    const zeros = fixture.mcc.filter((c) => c.expected === 0).map((c) => c.name);
    expect(zeros).toEqual(
      expect.arrayContaining(['constant prediction', 'all one class, mixed predictions', 'single row']),
    );
  });

  it('confusion counts each cell', () => {
    expect(confusion([0, 0, 1, 1, 1], [0, 1, 1, 0, 1])).toEqual({ tn: 1, fp: 1, fn: 1, tp: 2 });
    expect(mccFromConfusion({ tn: 0, fp: 0, fn: 0, tp: 0 })).toBe(0);
  });
});

describe('rocAucScore equals sklearn.metrics.roc_auc_score', () => {
  it.each(fixture.auc.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const [y, s] = c.recipe ? aucRecipe(c.recipe) : [c.yTrue!, c.score!];
    if (c.error !== undefined) {
      expect(c.error).toMatch(/one class/i);
      expect(rocAucScore(y, s)).toBeNaN();
    } else expect(rocAucScore(y, s)).toBe(c.expected);
  });

  it('refuses non-finite scores', () => {
    expect(() => rocAucScore([0, 1], [0.5, NaN])).toThrow(/finite/);
  });
});

describe('pairwiseSum', () => {
  it('adds in numpy add.reduce order (8 accumulators), not left to right', () => {
    // Accumulator j gets a[j] + a[8 + j]: ±1e16 + 1 rounds back to ±1e16, so numpy's sum is 0; left to
    // right the ±1e16 cancel first and the ones survive.
    const a = Float64Array.of(1e16, -1e16, 1e16, -1e16, 1e16, -1e16, 1e16, -1e16, 1, 1, 1, 1, 1, 1, 1, 1);
    let naive = 0;
    for (const x of a) naive += x;
    expect(naive).toBe(8);
    expect(pairwiseSum(a)).toBe(0);
    expect(pairwiseSum(Float64Array.of(1, 2, 3))).toBe(6);
  });
});
