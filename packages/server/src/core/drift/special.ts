/**
 * Special functions for the drift p-values: the normal CDF (a port of cephes `ndtr`/`erf`/`erfc`, as
 * `scipy.stats.norm.cdf`), log-gamma, and the regularised upper incomplete gamma Q(a, x) (cephes `igamc`'s
 * role: `scipy.stats.chi2.sf(x, k) = Q(k/2, x/2)`). Q uses the power series below x < a + 1 and a Lentz
 * continued fraction above, with the prefactor x^a e^-x / Γ(a) in Stirling form for a ≥ 10 so it stays
 * accurate to ~1e-14 relative for the degrees of freedom a chi-square over categories can have.
 */
/* eslint-disable no-loss-of-precision -- constants keep the digits published in cephes / scipy; they parse to the same doubles as in C */

const P = [
  2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687, 4.86371970985681366614e1,
  1.96520832956077098242e2, 5.26445194995477358631e2, 9.3452852717195760754e2, 1.02755188689515710272e3,
  5.57535335369399327526e2,
];
const Q = [
  1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2, 9.75708501743205489753e2,
  1.82390916687909736289e3, 2.24633760818710981792e3, 1.65666309194161350182e3, 5.57535340817727675546e2,
];
const R = [
  5.64189583547755073984e-1, 1.27536670759978104416, 5.01905042251180477414, 6.16021097993053585195,
  7.4097426995044893916, 2.9788666537210024067,
];
const S = [
  2.2605286322011727659, 9.39603524938001434673, 1.20489539808096656605e1, 1.70814450747565897222e1,
  9.60896809063285878198, 3.3690764510008151605,
];
const T = [
  9.60497373987051638749, 9.00260197203842689217e1, 2.23200534594684319226e3, 7.00332514112805075473e3,
  5.55923013010394962768e4,
];
const U = [
  3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3, 2.26290000613890934246e4,
  4.92673942608635921086e4,
];
/** cephes MAXLOG = log(DBL_MAX). */
const MAXLOG = 7.09782712893383996843e2;

/** cephes polevl: coefficients highest degree first. */
function polevl(x: number, c: readonly number[]): number {
  let y = c[0]!;
  for (let i = 1; i < c.length; i++) y = y * x + c[i]!;
  return y;
}
/** cephes p1evl: as polevl with an implicit leading coefficient 1. */
function p1evl(x: number, c: readonly number[]): number {
  let y = x + c[0]!;
  for (let i = 1; i < c.length; i++) y = y * x + c[i]!;
  return y;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -erf(-x);
  if (Math.abs(x) > 1) return 1 - erfc(x);
  const z = x * x;
  return (x * polevl(z, T)) / p1evl(z, U);
}

export function erfc(a: number): number {
  if (Number.isNaN(a)) return NaN;
  const x = Math.abs(a);
  if (x < 1) return 1 - erf(a);
  let z = -a * a;
  if (z < -MAXLOG) return a < 0 ? 2 : 0;
  z = Math.exp(z);
  const p = x < 8 ? polevl(x, P) : polevl(x, R);
  const q = x < 8 ? p1evl(x, Q) : p1evl(x, S);
  let y = (z * p) / q;
  if (a < 0) y = 2 - y;
  if (y !== 0) return y;
  return a < 0 ? 2 : 0;
}

/** Standard normal CDF, cephes `ndtr` (= scipy.stats.norm.cdf). */
export function ndtr(a: number): number {
  if (Number.isNaN(a)) return NaN;
  const x = a * Math.SQRT1_2;
  const z = Math.abs(x);
  if (z < Math.SQRT1_2) return 0.5 + 0.5 * erf(x);
  const y = 0.5 * erfc(z);
  return x > 0 ? 1 - y : y;
}

// Lanczos approximation (g = 607/128, 15 terms; Godfrey's coefficients), relative error ~1e-15.
const LANCZOS_G = 607 / 128;
const LANCZOS = [
  0.99999999999999709182, 57.156235665862923517, -59.597960355475491248, 14.136097974741747174,
  -0.49191381609762019978, 0.33994649984811888699e-4, 0.46523628927048575665e-4, -0.98374475304879564677e-4,
  0.15808870322491248884e-3, -0.21026444172410488319e-3, 0.2174396181152126432e-3, -0.16431810653676389022e-3,
  0.84418223983852743293e-4, -0.2619083840158140867e-4, 0.36899182659531622704e-5,
];
const HALF_LOG_2PI = 0.91893853320467274178;

/** ln Γ(x) for x > 0. */
export function lgamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x);
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + stirlerr(x);
  const y = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (y + i);
  const t = y + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π] for x ≥ 10 (Stirling series, error < 1e-17). */
function stirlerr(x: number): number {
  const r = 1 / x;
  const r2 = r * r;
  return (
    r *
    (1 / 12 -
      r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360 - r2 / 156))))))
  );
}

/** ln(x^a e^-x / Γ(a)), accurate for large a (no cancellation between a ln x and ln Γ(a)). */
function logPrefactor(a: number, x: number): number {
  if (a < 10) return a * Math.log(x) - x - lgamma(a);
  const d = (x - a) / a;
  // a ln(x/a) + a − x = a (log1p(d) − d); the rest is −ln Γ(a) + (a − ½) ln a − a, i.e. Stirling.
  const core = Math.abs(d) < 0.5 ? a * log1pmx(d) : a * Math.log(x / a) + a - x;
  return core + 0.5 * Math.log(a) - HALF_LOG_2PI - stirlerr(a);
}

/** log1p(d) − d without cancellation for |d| < 0.5. */
function log1pmx(d: number): number {
  if (Math.abs(d) > 0.1) return Math.log1p(d) - d;
  // −d²/2 + d³/3 − d⁴/4 + …
  let term = d;
  let sum = 0;
  for (let k = 2; k < 60; k++) {
    term *= -d;
    const t = term / k;
    sum += t;
    if (Math.abs(t) < 1e-18 * Math.abs(sum)) break;
  }
  return sum;
}

const EPS = 1.1102230246251565e-16;

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a). */
export function gammaincc(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0 || x < 0) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  const lp = logPrefactor(a, x);
  if (x < a + 1) {
    // P(a, x) = prefactor · Σ x^n / (a (a+1) … (a+n)); Q = 1 − P (Q is not small here).
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return 1 - Math.exp(lp) * sum;
  }
  // cephes igamc: a prefactor below e^-MAXLOG underflows to 0 (scipy returns exactly 0 there).
  if (lp < -MAXLOG) return 0;
  // Q(a, x) = prefactor · 1/(x + 1 − a − 1·(1−a)/(x + 3 − a − …)), modified Lentz.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(lp) * h;
}

/** scipy.stats.chi2.sf(x, df). */
export function chi2Sf(x: number, df: number): number {
  if (!(df > 0)) return NaN;
  if (x === Infinity) return 0;
  if (x <= 0) return 1;
  return gammaincc(df / 2, x / 2);
}
