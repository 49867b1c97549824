import { describe, expect, it } from 'vitest';
import {
  latestDuePeriod,
  nextScheduledPeriod,
  parseBackfillBody,
  parseDataRef,
  parseMonitorPut,
  parseRunBody,
  periodContaining,
  periodKey,
} from './drift-monitor.js';
import { computeDrift, DriftRunError, planColumns, prepareBaseline, type ReadSide } from './drift-run.js';

const iso = (p: { start: Date; end: Date }) => [p.start.toISOString(), p.end.toISOString()];

describe('drift monitor periods (UTC)', () => {
  it('days, Monday–Sunday weeks and months', () => {
    expect(iso(periodContaining('Day', Date.parse('2025-01-02T23:59:59.999Z')))).toEqual([
      '2025-01-02T00:00:00.000Z',
      '2025-01-03T00:00:00.000Z',
    ]);
    // 2025-01-05 is a Sunday: its week started Monday 2024-12-30.
    expect(iso(periodContaining('Week', Date.parse('2025-01-05T12:00:00Z')))).toEqual([
      '2024-12-30T00:00:00.000Z',
      '2025-01-06T00:00:00.000Z',
    ]);
    expect(iso(periodContaining('Week', Date.parse('2025-01-06T00:00:00Z')))[0]).toBe(
      '2025-01-06T00:00:00.000Z',
    );
    expect(iso(periodContaining('Month', Date.parse('2024-12-31T10:00:00Z')))).toEqual([
      '2024-12-01T00:00:00.000Z',
      '2025-01-01T00:00:00.000Z',
    ]);
    expect(periodKey(new Date('2025-01-02T00:00:00Z'))).toBe('20250102T000000Z');
  });

  it('the latest due period waits for end + latency', () => {
    expect(iso(latestDuePeriod('Day', 0, new Date('2025-01-03T00:00:00Z')))[0]).toBe(
      '2025-01-02T00:00:00.000Z',
    );
    expect(iso(latestDuePeriod('Day', 6, new Date('2025-01-03T05:59:59Z')))[0]).toBe(
      '2025-01-01T00:00:00.000Z',
    );
    expect(iso(latestDuePeriod('Day', 6, new Date('2025-01-03T06:00:00Z')))[0]).toBe(
      '2025-01-02T00:00:00.000Z',
    );
    expect(iso(latestDuePeriod('Month', 72, new Date('2025-02-03T23:00:00Z')))[0]).toBe(
      '2024-12-01T00:00:00.000Z',
    );
  });

  it('schedules the next period once, from startTime or the last claimed, catching up at most maxCatchUp', () => {
    const spec = { frequency: 'Day' as const, latencyHours: 0 };
    const now = new Date('2025-01-10T01:00:00Z');
    expect(nextScheduledPeriod(spec, undefined, now)!.start.toISOString()).toBe('2025-01-09T00:00:00.000Z');
    expect(
      nextScheduledPeriod(
        { ...spec, startTime: '2025-01-05T08:00:00.000Z' },
        undefined,
        now,
      )!.start.toISOString(),
    ).toBe('2025-01-05T00:00:00.000Z');
    expect(nextScheduledPeriod(spec, '2025-01-07T00:00:00.000Z', now)!.start.toISOString()).toBe(
      '2025-01-08T00:00:00.000Z',
    );
    expect(nextScheduledPeriod(spec, '2025-01-09T00:00:00.000Z', now)).toBeUndefined();
    expect(
      nextScheduledPeriod({ ...spec, startTime: '2025-02-01T00:00:00.000Z' }, undefined, now),
    ).toBeUndefined();
    // Down since 2024-12-01: only the 3 latest complete days are caught up.
    expect(nextScheduledPeriod(spec, '2024-12-01T00:00:00.000Z', now, 3)!.start.toISOString()).toBe(
      '2025-01-07T00:00:00.000Z',
    );
  });
});

describe('drift monitor bodies', () => {
  const base = {
    baselineData: { name: 'b', version: 1 },
    targetData: 'azureml:t:2',
    timestampColumn: 'ts',
    frequency: 'week',
  };

  it('applies Azure defaults and reads every data reference form', () => {
    const s = parseMonitorPut({ properties: base });
    expect(s).toMatchObject({
      frequency: 'Week',
      threshold: 0.2,
      latencyHours: 0,
      features: [],
      scheduleEnabled: false,
      baselineData: { name: 'b', version: '1' },
      targetData: { name: 't', version: '2' },
    });
    const id =
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w2/data/x/versions/3';
    expect(parseDataRef(id, 'p')).toEqual({
      workspace: { subscriptionId: 's', resourceGroup: 'rg', workspace: 'w2' },
      name: 'x',
      version: '3',
    });
    expect(parseDataRef('x:4', 'p')).toEqual({ name: 'x', version: '4' });
    expect(() => parseDataRef('x', 'p')).toThrow(/p: must be/);
  });

  it('names the field at fault', () => {
    const target = (body: unknown, current?: ReturnType<typeof parseMonitorPut>) => {
      try {
        parseMonitorPut(body, current);
      } catch (e) {
        return (e as { target?: string }).target;
      }
      return 'accepted';
    };
    expect(target({ properties: { ...base, frequency: 'Hour' } })).toBe('properties.frequency');
    expect(target({ properties: { ...base, latencyHours: -1 } })).toBe('properties.latencyHours');
    expect(target({ properties: { ...base, features: ['a', 'a'] } })).toBe('properties.features[1]');
    expect(target({ properties: { ...base, features: ['ts'] } })).toBe('properties.features');
    expect(target({ properties: { ...base, features: Array(201).fill('x') } })).toBe('properties.features');
    expect(
      target({ properties: { ...base, features: Array.from({ length: 200 }, (_, i) => `f${i}`) } }),
    ).toBe('accepted');
    const current = parseMonitorPut({ properties: base });
    expect(target({ properties: { ...base, latencyHours: 3 } }, current)).toBe('properties.latencyHours');
    expect(target({ properties: { ...base, threshold: 0.5 } }, current)).toBe('accepted');
  });

  it('run and backfill bodies: a period, a window, at most 31 intervals', () => {
    expect(iso(parseRunBody({ targetDate: '2025-01-08' }, 'Week'))[0]).toBe('2025-01-06T00:00:00.000Z');
    expect(iso(parseRunBody({ startTime: '2025-01-01T06:00', endTime: '2025-01-01T18:00' }, 'Day'))).toEqual([
      '2025-01-01T06:00:00.000Z',
      '2025-01-01T18:00:00.000Z',
    ]);
    expect(parseBackfillBody({ startDate: '2025-01-01', endDate: '2025-01-31' }, 'Day')).toHaveLength(31);
    expect(() => parseBackfillBody({ startDate: '2025-01-01', endDate: '2025-02-01' }, 'Day')).toThrow(
      /endDate/,
    );
    expect(parseBackfillBody({ startDate: '2025-01-01', endDate: '2025-12-31' }, 'Month')).toHaveLength(12);
    expect(() => parseRunBody({}, 'Day')).toThrow(/targetDate/);
  });
});

describe('column typing (Azure rules)', () => {
  const strings = (n: number, k: number) => Array.from({ length: n }, (_, i) => `v${i % k}`);
  const side = (cols: ReadSide['columns'], rowCount: number): ReadSide => ({ rowCount, columns: cols });

  it('plans common columns, skipping timestamps, missing and mismatched ones', () => {
    const b = [
      { name: 'ts', type: 'timestamp' as const },
      { name: 'a', type: 'integer' as const },
      { name: 'b', type: 'string' as const },
      { name: 'c', type: 'number' as const },
      { name: 'n', type: 'other' as const },
    ];
    const t = [
      ...b.slice(0, 3),
      { name: 'c', type: 'string' as const },
      { name: 'n', type: 'other' as const },
    ];
    const plan = planColumns([], b, t, 'ts');
    expect(plan.read).toEqual([
      { name: 'a', as: 'number' },
      { name: 'b', as: 'string' },
    ]);
    expect(plan.skipped.map((s) => [s.name, s.reason])).toEqual([
      ['c', 'typeMismatch'],
      ['n', 'unsupportedType'],
    ]);
    expect(planColumns(['zz', 'a'], b, t, 'ts').skipped[0]).toMatchObject({
      name: 'zz',
      reason: 'missingInBaseline',
    });
  });

  it('categorical below 100 values and 5% of rows; numeric out of the coefficient above 15% missing', () => {
    const n = 1000;
    const nums = (missing: number) =>
      Float64Array.from({ length: n }, (_, i) => (i < missing ? NaN : i % 37));
    const read = side(
      new Map([
        ['k49', { name: 'k49', kind: 'string', values: strings(n, 49) }],
        ['k50', { name: 'k50', kind: 'string', values: strings(n, 50) }],
        ['m150', { name: 'm150', kind: 'number', values: nums(150) }],
        ['m151', { name: 'm151', kind: 'number', values: nums(151) }],
      ]),
      n,
    );
    const prepared = prepareBaseline(read, { skipped: [] });
    expect(prepared.columns.map((c) => [c.name, c.kind])).toEqual([
      ['k49', 'categorical'],
      ['m150', 'numeric'],
      ['m151', 'numeric'],
    ]);
    expect(prepared.skipped).toMatchObject([{ name: 'k50', reason: 'highCardinality' }]);
    const r = computeDrift(prepared, read);
    expect(r.features.map((f) => [f.name, f.inCoefficient])).toEqual([
      ['k49', true],
      ['m150', true],
      ['m151', false],
    ]);
    expect(r.skipped.map((s) => s.reason)).toEqual(['highCardinality', 'tooManyNulls']);
    // Same data on both sides: no drift.
    expect(r.driftCoefficient).toBeLessThan(0.05);
    expect(() => computeDrift(prepared, side(read.columns, 49))).toThrow(DriftRunError);
  });
});
