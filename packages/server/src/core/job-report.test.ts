import { describe, expect, it } from 'vitest';
import {
  appendPoints,
  jobToken,
  parseStatusReport,
  reportPath,
  runnerKind,
  verifyJobToken,
} from './job-report.js';

describe('reportPath', () => {
  it('walks forward through the runner state machine, shortest way', () => {
    expect(reportPath('Queued', 'Running')).toEqual(['Starting', 'Running']);
    expect(reportPath('Running', 'Completed')).toEqual(['Finalizing', 'Completed']);
    expect(reportPath('NotStarted', 'Completed')).toEqual([
      'Queued',
      'Starting',
      'Running',
      'Finalizing',
      'Completed',
    ]);
    expect(reportPath('Running', 'Failed')).toEqual(['Failed']);
    expect(reportPath('Running', 'Canceled')).toEqual(['CancelRequested', 'Canceled']);
    expect(reportPath('Running', 'Running')).toEqual([]);
  });
  it('never goes back or out of a final status', () => {
    expect(reportPath('Running', 'Queued')).toBeUndefined();
    expect(reportPath('Completed', 'Running')).toBeUndefined();
    expect(reportPath('Failed', 'Completed')).toBeUndefined();
    expect(reportPath('CancelRequested', 'Running')).toBeUndefined();
  });
});

describe('parseStatusReport', () => {
  it('canonicalises the status and checks the extras', () => {
    expect(parseStatusReport({ status: 'failed', exitCode: 2, failureReason: 'x' })).toEqual({
      status: 'Failed',
      exitCode: 2,
      failureReason: 'x',
    });
    expect(() => parseStatusReport({ status: 'NotStarted' })).toThrow(/status/);
    expect(() => parseStatusReport({ status: 'Completed', failureReason: 'x' })).toThrow(/failureReason/);
    expect(() => parseStatusReport({ status: 'Failed', exitCode: 1.5 })).toThrow(/exitCode/);
  });
});

describe('runnerKind', () => {
  it('reads mlgrid.runner, local by default', () => {
    expect(runnerKind({ properties: {} })).toBe('local');
    expect(runnerKind({ properties: { 'mlgrid.runner': 'External' } })).toBe('external');
    expect(() => runnerKind({ properties: { 'mlgrid.runner': 'k8s' } })).toThrow(/mlgrid.runner/);
  });
});

describe('appendPoints', () => {
  it('numbers steps after the last one unless given', () => {
    const a = appendPoints(
      undefined,
      'loss',
      [
        { name: 'loss', value: 1 },
        { name: 'loss', value: 2, step: 10 },
      ],
      5,
    );
    const b = appendPoints(a, 'loss', [{ name: 'loss', value: 3 }], 6);
    expect(b!.points).toEqual([
      [0, 1, 5],
      [10, 2, 5],
      [11, 3, 6],
    ]);
  });
});

describe('job tokens', () => {
  it('are good for one job (key and creation) only', () => {
    const job = { key: 'ws/jobs/a', createdAt: '2026-01-01T00:00:00.000Z' };
    const t = jobToken('secret', job);
    expect(verifyJobToken('secret', job, t)).toBe(true);
    expect(verifyJobToken('secret', { ...job, key: 'ws/jobs/b' }, t)).toBe(false);
    expect(verifyJobToken('secret', { ...job, createdAt: '2026-01-02T00:00:00.000Z' }, t)).toBe(false);
    expect(verifyJobToken('other', job, t)).toBe(false);
    expect(verifyJobToken('secret', job, 'mlgj_x')).toBe(false);
  });
});
