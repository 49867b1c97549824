/**
 * Seeded synthetic baseline/target pairs for the drift-classifier tests, fixtures and bench. The golden
 * generator `scripts/golden/drift_classifier.py` draws the same doubles (mulberry32, Irwin–Hall normals,
 * exact arithmetic), so fixtures store the recipe, not the data.
 *
 * Draw order, per side (baseline first, then target, one PRNG): `numeric` normals row-major, then one
 * uniform per row for the categorical column (if any), then one uniform per row for missing values (kind
 * 'missing'). The shift is applied to the target afterwards.
 */
import type { ClassifierColumn, ClassifierTable } from './classifier.js';
import { mulberry32, type Prng } from './prng.js';

export interface ScenarioShift {
  kind: 'none' | 'mean' | 'scale' | 'correlation' | 'categorical' | 'missing';
  /** The feature changed (for 'correlation': feature + 1 is mixed with it). */
  feature: number;
  /** mean: added; scale: multiplied; correlation: ρ. */
  amount: number;
  /** 'missing': share of NaN in feature on [baseline, target]. */
  missing?: [number, number];
}

export interface Scenario {
  name: string;
  seed: number;
  /** Rows per side (baselineRows overrides it for the baseline). */
  rows: number;
  baselineRows?: number;
  numeric: number;
  /** Category probabilities on each side (one column 'cat' after the numeric ones). */
  categories?: { baseline: number[]; target: number[] };
  shift: ScenarioShift;
}

function pick(u: number, probs: readonly number[]): number {
  let cum = 0;
  for (let j = 0; j < probs.length - 1; j++) {
    cum += probs[j]!;
    if (u < cum) return j;
  }
  return probs.length - 1;
}

function side(rng: Prng, s: Scenario, target: boolean): ClassifierTable {
  const n = target ? s.rows : (s.baselineRows ?? s.rows);
  const cols = Array.from({ length: s.numeric }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) for (let f = 0; f < s.numeric; f++) cols[f]![i] = rng.normal();
  const columns: ClassifierColumn[] = cols.map((values, f) => ({ name: `x${f}`, kind: 'numeric', values }));
  if (s.categories) {
    const probs = target ? s.categories.target : s.categories.baseline;
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = pick(rng.uniform(), probs);
    columns.push({ name: 'cat', kind: 'categorical', codes });
  }
  const sh = s.shift;
  if (sh.kind === 'missing') {
    const rate = sh.missing![target ? 1 : 0];
    for (let i = 0; i < n; i++) if (rng.uniform() < rate) cols[sh.feature]![i] = NaN;
  }
  if (target) {
    const a = cols[sh.feature]!;
    if (sh.kind === 'mean') for (let i = 0; i < n; i++) a[i] = a[i]! + sh.amount;
    if (sh.kind === 'scale') for (let i = 0; i < n; i++) a[i] = a[i]! * sh.amount;
    if (sh.kind === 'correlation') {
      const b = cols[sh.feature + 1]!;
      const c = Math.sqrt(1 - sh.amount * sh.amount);
      for (let i = 0; i < n; i++) b[i] = sh.amount * a[i]! + c * b[i]!;
    }
  }
  return { rows: n, columns };
}

/** [baseline, target] of a scenario. */
export function scenarioTables(s: Scenario): [ClassifierTable, ClassifierTable] {
  const rng = mulberry32(s.seed);
  const baseline = side(rng, s, false);
  return [baseline, side(rng, s, true)];
}
