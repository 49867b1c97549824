import { describe, expect, it } from 'vitest';
import { dateTime, parseIsoUtc } from './validate.js';

describe('parseIsoUtc', () => {
  it.each([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2026-01-31T08:00:00', '2026-01-31T08:00:00.000Z'], // no offset: UTC, whatever TZ says
    ['2026-01-31T08:00', '2026-01-31T08:00:00.000Z'],
    ['2026-01-31 08:00:00.5', '2026-01-31T08:00:00.500Z'],
    ['2026-01-31T08:00:00+02:00', '2026-01-31T06:00:00.000Z'],
    ['2026-01-31T08:00:00Z', '2026-01-31T08:00:00.000Z'],
  ])('%s → %s', (input, iso) => {
    expect(new Date(parseIsoUtc(input)).toISOString()).toBe(iso);
  });

  it.each(['2000', 'Jan 1 2000', 'yesterday', '2026-13-01', '2026-01-31T25:00:00', ''])(
    'rejects %j',
    (input) => {
      expect(parseIsoUtc(input)).toBeNaN();
    },
  );

  it('names the field when invalid', () => {
    expect(() => dateTime('nope', 'properties.expirationTimeUtc')).toThrow(
      expect.objectContaining({ target: 'properties.expirationTimeUtc', status: 400 }),
    );
  });
});
