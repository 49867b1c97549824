/**
 * The drift coefficient's behaviour on seeded scenarios, next to scikit-learn's HistGradientBoostingClassifier
 * doing the same 5-fold job (fixture from scripts/golden/drift_classifier.py; the trees differ, so the check
 * is behaviour: no drift ≈ 0, shifts ≫ the 0.2 threshold, AUC in a band around sklearn's), plus determinism,
 * missing values, constant features, tiny inputs and the contribution pointing at the shifted feature.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MlgridError } from '../errors.js';
import { driftClassifier, type ClassifierTable } from './classifier.js';
import {
  closeDriftClassifierPool,
  driftClassifierParallel,
  driftClassifierPoolStats,
} from './classifier-parallel.js';
import { scenarioTables, type Scenario } from './classifier-scenarios.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/drift/classifier.json', import.meta.url));
type Golden = Scenario & { sklearn: { mcc: number; auc: number; iterations: number[] } };
const scenarios = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { scenarios: Golden[] }).scenarios;
const identical = scenarios.filter((s) => s.shift.kind === 'none');
const shifted = scenarios.filter((s) => s.shift.kind !== 'none');

const THRESHOLD = 0.2;
const ranked = (r: ReturnType<typeof driftClassifier>) =>
  [...r.contributions].sort((a, b) => b.contribution - a.contribution).map((c) => c.name);

function numericTable(cols: Record<string, ArrayLike<number>>): ClassifierTable {
  const entries = Object.entries(cols);
  return {
    rows: entries[0]![1].length,
    columns: entries.map(([name, values]) => ({ name, kind: 'numeric', values })),
  };
}

describe('drift coefficient on identical distributions (sklearn alongside)', () => {
  it.each(identical.map((s) => [s.name, s] as const))('%s: |MCC| < 0.05', (_, s) => {
    const r = driftClassifier(...scenarioTables(s));
    expect(Math.abs(r.mcc)).toBeLessThan(0.05);
    expect(r.driftCoefficient).toBeLessThan(0.05);
    expect(Math.abs(r.auc - 0.5)).toBeLessThan(0.04);
    expect(Math.abs(s.sklearn.mcc)).toBeLessThan(0.05);
    expect(r.contributions.reduce((a, c) => a + c.contribution, 0)).toBeCloseTo(1, 12);
  });
});

describe('drift coefficient on shifted distributions (sklearn alongside)', () => {
  it.each(shifted.map((s) => [s.name, s] as const))(
    '%s: MCC ≫ 0.2, AUC near sklearn, top feature',
    (_, s) => {
      const [baseline, target] = scenarioTables(s);
      const r = driftClassifier(baseline, target);
      expect(r.driftCoefficient).toBeGreaterThan(THRESHOLD + 0.05);
      expect(r.driftCoefficient).toBe(r.mcc);
      expect(Math.abs(r.auc - s.sklearn.auc)).toBeLessThan(0.03);
      expect(Math.abs(r.mcc - s.sklearn.mcc)).toBeLessThan(0.06);
      const name = (f: number) => baseline.columns[f]!.name;
      const top = ranked(r);
      if (s.shift.kind === 'correlation')
        expect(top.slice(0, 2).sort()).toEqual([name(s.shift.feature), name(s.shift.feature + 1)].sort());
      else expect(top[0]).toBe(name(s.shift.feature));
    },
  );
});

describe('determinism', () => {
  const s = shifted.find((x) => x.shift.kind === 'mean')!;
  it('the same inputs and seed give a bit-identical result; another seed other folds', () => {
    const [a, b] = scenarioTables(s);
    const r1 = driftClassifier(a, b, { seed: 7 });
    const r2 = driftClassifier(a, b, { seed: 7 });
    expect(r2).toStrictEqual(r1);
    const r3 = driftClassifier(a, b, { seed: 8 });
    expect(r3.confusion).not.toStrictEqual(r1.confusion);
    expect(r3.driftCoefficient).toBeGreaterThan(THRESHOLD);
  });

  it('two threads give exactly the serial result', async () => {
    const [a, b] = scenarioTables(s);
    const serial = driftClassifier(a, b);
    expect(await driftClassifierParallel(a, b, { threads: 2 })).toStrictEqual(serial);
    // The worker is started lazily and may miss the first job; a second job on the warm pool shares the folds.
    expect(await driftClassifierParallel(a, b, { threads: 2 })).toStrictEqual(serial);
    expect(driftClassifierPoolStats().workers).toBe(1);
    expect(driftClassifierPoolStats().lastWorkerFolds).toBeGreaterThan(0);
    await closeDriftClassifierPool();
    expect(driftClassifierPoolStats().workers).toBe(0);
  });

  it('early stopping (> 10,000 training rows) ends identical-distribution folds early', () => {
    const big: Scenario = {
      name: 'big',
      seed: 301,
      rows: 7000,
      numeric: 3,
      shift: { kind: 'none', feature: 0, amount: 0 },
    };
    const r = driftClassifier(...scenarioTables(big));
    expect(Math.max(...r.iterations)).toBeLessThan(100);
    expect(Math.abs(r.mcc)).toBeLessThan(0.05);
  });
});

describe('inputs', () => {
  const s = shifted.find((x) => x.shift.kind === 'mean')!;

  it('sub-samples each side to maxRowsPerSide and still sees the shift', () => {
    const r = driftClassifier(...scenarioTables(s), { maxRowsPerSide: 1500 });
    expect(r.rows).toEqual({ baseline: 3000, target: 3000, baselineUsed: 1500, targetUsed: 1500 });
    expect(r.confusion.tn + r.confusion.fp + r.confusion.fn + r.confusion.tp).toBe(3000);
    expect(r.driftCoefficient).toBeGreaterThan(THRESHOLD);
  });

  it('missing values: an all-NaN column gets no split; a NaN-only-in-target column is the drift', () => {
    const [a, b] = scenarioTables(identical[0]!);
    const nan = (t: ClassifierTable) => new Float64Array(t.rows).fill(NaN);
    const withNan = (t: ClassifierTable, col: Float64Array): ClassifierTable => ({
      rows: t.rows,
      columns: [...t.columns, { name: 'gone', kind: 'numeric', values: col }],
    });
    const r = driftClassifier(withNan(a, nan(a)), withNan(b, nan(b)));
    expect(r.contributions.find((c) => c.name === 'gone')!.contribution).toBe(0);
    expect(Math.abs(r.mcc)).toBeLessThan(0.05);
    // Same values, but 30 % of the target's are missing: only the missing bin tells them apart.
    const x = a.columns[0]!.kind === 'numeric' ? Float64Array.from(a.columns[0]!.values) : new Float64Array();
    const y = b.columns[0]!.kind === 'numeric' ? Float64Array.from(b.columns[0]!.values) : new Float64Array();
    for (let i = 0; i < y.length; i += 10) for (let j = i; j < i + 3; j++) y[j] = NaN;
    const m = driftClassifier(numericTable({ x }), numericTable({ x: y }));
    expect(m.driftCoefficient).toBeGreaterThan(THRESHOLD);
  });

  it('constant features: no split, coefficient 0, AUC 0.5, contributions all 0', () => {
    const t = numericTable({ a: new Float64Array(500).fill(3), b: new Float64Array(500).fill(-1) });
    const r = driftClassifier(t, t);
    expect(r.mcc).toBe(0);
    expect(r.driftCoefficient).toBe(0);
    expect(r.auc).toBe(0.5);
    expect(r.contributions.map((c) => c.contribution)).toEqual([0, 0]);
    expect(r.iterations).toEqual([100, 100, 100, 100, 100]);
  });

  it('a constant column next to a shifted one gets no contribution', () => {
    const withConstant = (t: ClassifierTable): ClassifierTable => ({
      rows: t.rows,
      columns: [{ name: 'c', kind: 'numeric', values: new Float64Array(t.rows).fill(1) }, ...t.columns],
    });
    const [a, b] = scenarioTables(s);
    const r = driftClassifier(withConstant(a), withConstant(b));
    expect(r.contributions[0]).toEqual({ name: 'c', contribution: 0 });
    expect(ranked(r)[0]).toBe('x0');
    expect(r.driftCoefficient).toBeGreaterThan(THRESHOLD);
  });

  it('tiny inputs: a clear error below folds × minSamplesLeaf rows or fewer rows than folds on a side', () => {
    const t = (n: number) => numericTable({ x: Float64Array.from({ length: n }, (_, i) => i) });
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as MlgridError;
      }
      throw new Error('no error');
    };
    const few = err(() => driftClassifier(t(4), t(500)));
    expect(few).toBeInstanceOf(MlgridError);
    expect(few.status).toBe(400);
    expect(few.target).toBe('baseline');
    expect(few.message).toMatch(/at least 5 rows/);
    expect(err(() => driftClassifier(t(500), t(3))).target).toBe('target');
    expect(err(() => driftClassifier(t(40), t(40))).message).toMatch(/at least 100 rows together/);
    // The documented minimum works (and 50 + 50 is Azure's minimum per dataset).
    expect(driftClassifier(t(50), t(50)).folds).toBe(5);
  });

  it('rejects mismatched columns, naming the side and column', () => {
    const a = numericTable({ x: [1, 2, 3] });
    expect(() => driftClassifier(a, numericTable({ y: [1, 2, 3] }))).toThrow(/target\.y/);
    expect(() => driftClassifier(a, numericTable({ x: [1, 2], z: [1, 2] }))).toThrow(/2 columns/);
    expect(() => driftClassifier({ rows: 3, columns: [] }, { rows: 3, columns: [] })).toThrow(/feature/);
    expect(() =>
      driftClassifier(a, { rows: 3, columns: [{ name: 'x', kind: 'categorical', codes: [0, 1, 0] }] }),
    ).toThrow(/numeric 'x'/);
  });
});
