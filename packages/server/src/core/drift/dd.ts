/**
 * Double-double arithmetic (value = hi + lo, ~106-bit significand; the QD library's algorithms, as scipy's
 * cephes `dd_real`). Used by the Smirnov distribution port and to stand in for the `np.longdouble`
 * intermediates of scipy's `_kolmogn` (double-double is at least as precise as x87 extended).
 * No FMA in JavaScript, so products are split with Dekker's method.
 */
/* eslint-disable no-loss-of-precision -- constants keep the digits published in cephes / scipy; they parse to the same doubles as in C */

export type DD = readonly [hi: number, lo: number];

export const DD_ZERO: DD = [0, 0];
export const DD_ONE: DD = [1, 0];

const SPLITTER = 134217729; // 2^27 + 1
const SPLIT_THRESH = 6.69692879491417e299; // 2^996

function split(a: number): [number, number] {
  if (a > SPLIT_THRESH || a < -SPLIT_THRESH) {
    const s = a * 3.7252902984185791e-9; // 2^-28
    const t = SPLITTER * s;
    const hi = t - (t - s);
    return [hi * 268435456, (s - hi) * 268435456];
  }
  const t = SPLITTER * a;
  const hi = t - (t - a);
  return [hi, a - hi];
}

export function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

export function twoProd(a: number, b: number): DD {
  const p = a * b;
  if (!Number.isFinite(p)) return [p, 0];
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

export function add(a: DD, b: DD): DD {
  // IEEE-style (accurate) addition.
  let [s1, s2] = twoSum(a[0], b[0]);
  const [t1, t2] = twoSum(a[1], b[1]);
  s2 += t1;
  [s1, s2] = quickTwoSum(s1, s2);
  s2 += t2;
  return quickTwoSum(s1, s2);
}

export const neg = (a: DD): DD => [-a[0], -a[1]];
export const sub = (a: DD, b: DD): DD => add(a, neg(b));
export const addD = (a: DD, b: number): DD => add(a, [b, 0]);

export function mul(a: DD, b: DD): DD {
  const [p1, p2] = twoProd(a[0], b[0]);
  if (!Number.isFinite(p1)) return [p1, 0];
  return quickTwoSum(p1, p2 + (a[0] * b[1] + a[1] * b[0]));
}

export function mulD(a: DD, b: number): DD {
  const [p1, p2] = twoProd(a[0], b);
  if (!Number.isFinite(p1)) return [p1, 0];
  return quickTwoSum(p1, p2 + a[1] * b);
}

export function div(a: DD, b: DD): DD {
  const q1 = a[0] / b[0];
  if (!Number.isFinite(q1)) return [q1, 0];
  let r = sub(a, mulD(b, q1));
  const q2 = r[0] / b[0];
  r = sub(r, mulD(b, q2));
  const q3 = r[0] / b[0];
  return add(quickTwoSum(q1, q2), [q3, 0]);
}

export const divD = (a: DD, b: number): DD => div(a, [b, 0]);
/** a / b for doubles, as a double-double. */
export const divDD = (a: number, b: number): DD => div([a, 0], [b, 0]);
export const inv = (a: DD): DD => div(DD_ONE, a);
export const toNumber = (a: DD): number => a[0] + a[1];
export const isZero = (a: DD): boolean => a[0] === 0;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** frexp for doubles: x = m · 2^e with 0.5 ≤ |m| < 1 (m = x for 0, ±Infinity, NaN). */
export function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  f64[0] = x;
  let e = (u32[1]! >>> 20) & 0x7ff;
  let bias = 0;
  if (e === 0) {
    // subnormal: scale up first
    f64[0] = x * 18014398509481984; // 2^54
    e = (u32[1]! >>> 20) & 0x7ff;
    bias = 54;
  }
  const exp = e - 1022 - bias;
  u32[1] = (u32[1]! & 0x800fffff) | (1022 << 20);
  return [f64[0]!, exp];
}

/** x · 2^e without intermediate overflow/underflow of the power. */
export function ldexp(x: number, e: number): number {
  let r = x;
  let k = e;
  while (k > 1000) {
    r *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    r *= 2 ** -1000;
    k += 1000;
  }
  return r * 2 ** k;
}

export function ddFrexp(a: DD): [DD, number] {
  const [hi, e] = frexp(a[0]);
  return [[hi, ldexp(a[1], -e)], e];
}

export const ddLdexp = (a: DD, e: number): DD => [ldexp(a[0], e), ldexp(a[1], e)];

export function floor(a: DD): DD {
  let hi = Math.floor(a[0]);
  let lo = 0;
  if (hi === a[0]) {
    lo = Math.floor(a[1]);
    [hi, lo] = quickTwoSum(hi, lo);
  }
  return [hi, lo];
}
