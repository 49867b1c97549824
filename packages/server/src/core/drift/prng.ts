/**
 * Seeded pseudo-random numbers that a Python script reproduces bit for bit (golden fixtures regenerate their
 * inputs instead of storing them). mulberry32: 32-bit state advanced by a constant, so draw k is a pure
 * function of (seed, k) — the Python side vectorises it with numpy (`scripts/golden/drift_classifier.py`).
 * Only integer arithmetic and exact dyadic sums are used: no libm, so no last-ulp differences across languages.
 */

export interface Prng {
  /** Next unsigned 32-bit integer. */
  u32(): number;
  /** Uniform in [0, 1): u32 / 2^32 (exact). */
  uniform(): number;
  /** Integer in [0, n), n ≤ 2^32: floor(uniform · n). */
  int(n: number): number;
  /**
   * Approximately standard normal: Irwin–Hall sum of 12 uniforms − 6 (mean 0, variance 1, bounded ±6).
   * The sum of twelve k/2^32 values is exact in float64, so Python gets the same doubles.
   */
  normal(): number;
}

/** mulberry32 (Tommy Ettinger's constants), seeded with any 32-bit integer. */
export function mulberry32(seed: number): Prng {
  let a = seed | 0;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const uniform = (): number => u32() / 4294967296;
  return {
    u32,
    uniform,
    int: (n) => Math.floor(uniform() * n),
    normal: () => {
      let s = 0;
      for (let i = 0; i < 12; i++) s += u32();
      return s / 4294967296 - 6;
    },
  };
}

/** In-place Fisher–Yates shuffle driven by `rng` (j = int(i + 1) for i from the end). */
export function shuffle(xs: Uint32Array | Int32Array | number[], rng: Prng): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = xs[i]!;
    xs[i] = xs[j]!;
    xs[j] = t;
  }
}
