import { describe, expect, it } from 'vitest';
import { activeSecrets, nextSigning, requestedSigning, rotate } from './signing.js';

const T0 = new Date('2026-01-01T00:00:00Z');

describe('webhook signing state', () => {
  it('reads the request from PUT (properties.signing) and flat PATCH (signing) bodies', () => {
    expect(requestedSigning({ properties: { signing: { enabled: true } } }, false)).toBe(true);
    expect(requestedSigning({ signing: { enabled: false } }, true)).toBe(false);
    expect(requestedSigning({ properties: { signing: { enabled: false } } }, true)).toBe(false);
    expect(requestedSigning({ properties: {} }, false)).toBeUndefined();
    expect(() => requestedSigning({ properties: { signing: true } }, false)).toThrow(
      expect.objectContaining({ status: 400, target: 'properties.signing' }),
    );
    expect(() => requestedSigning({ signing: { enabled: 'yes' } }, true)).toThrow(
      expect.objectContaining({ target: 'signing' }),
    );
  });

  it('creates one secret when enabled, keeps it on later updates, drops it when disabled', () => {
    const on = nextSigning(undefined, true, T0)!;
    expect(on.secrets).toHaveLength(1);
    expect(on.secrets[0]!.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(nextSigning(on, true, T0)).toBe(on);
    expect(nextSigning(on, undefined, T0)).toBe(on);
    expect(nextSigning(on, false, T0)).toBeUndefined();
  });

  it('rotates with a grace period: two secrets sign until the old one expires', () => {
    const first = nextSigning(undefined, true, T0)!;
    const rotated = rotate(first, 60, T0);
    expect(rotated.secrets).toHaveLength(2);
    expect(rotated.secrets[1]).toMatchObject({
      secret: first.secrets[0]!.secret,
      expiresAt: '2026-01-01T01:00:00.000Z',
    });
    expect(activeSecrets(rotated, T0.getTime() + 59 * 60_000)).toEqual([
      rotated.secrets[0]!.secret,
      first.secrets[0]!.secret,
    ]);
    expect(activeSecrets(rotated, T0.getTime() + 60 * 60_000)).toEqual([rotated.secrets[0]!.secret]);
    // At most two secrets: a second rotation keeps the new one and the one it replaces, not the oldest.
    const again = rotate(rotated, 30, new Date(T0.getTime() + 10 * 60_000));
    expect(again.secrets).toHaveLength(2);
    expect(again.secrets[1]!.secret).toBe(rotated.secrets[0]!.secret);
  });
});
