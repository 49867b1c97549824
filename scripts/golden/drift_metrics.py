#!/usr/bin/python3
"""Golden fixtures for the per-feature drift statistics (issue 5).

Run with Debian's python3-scipy / numpy (no pip):

    /usr/bin/python3 scripts/golden/drift_metrics.py

writes packages/server/test/fixtures/drift/metrics.json. Inputs are seeded recipes (mulberry32, exact
arithmetic only) that packages/server/src/core/drift/recipes.ts regenerates bit for bit, or short inline
lists. Expected values come from scipy 1.10.1 (ks_2samp, wasserstein_distance, energy_distance, chisquare,
jensenshannon, kstwo.sf, smirnov, chi2.sf, norm.cdf) and from a line-by-line transcription of Evidently's
legacy stat tests (get_binned_data, _psi, _jensenshannon, _chi_stat_test, _z_stat_test, wasserstein_distance_norm,
_get_default_stattest, get_dataset_drift) — Evidently itself is not packaged in Debian.

Non-finite floats are written as the strings "NaN", "Infinity", "-Infinity".
"""
import json
import math
import os
import platform
import sys
from collections import Counter

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance
from scipy.special import smirnov

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages/server/test/fixtures/drift/metrics.json")
TWO32 = 4294967296.0


# ---------------------------------------------------------------- recipes (mirror of recipes.ts)
def mulberry32(seed):
    """Vectorisable generator: returns a function draw(count) -> np.uint64 array of the next draws."""
    state = {"k": 0}
    seed &= 0xFFFFFFFF

    def draw(count):
        k = np.arange(state["k"] + 1, state["k"] + count + 1, dtype=np.uint64)
        state["k"] += count
        m = np.uint64(0xFFFFFFFF)
        a = (np.uint64(seed) + k * np.uint64(0x6D2B79F5)) & m
        t = ((a ^ (a >> np.uint64(15))) * (a | np.uint64(1))) & m
        t2 = ((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & m
        t = ((t + t2) & m) ^ t
        return (t ^ (t >> np.uint64(14))) & m

    return draw


def numeric_sample(r):
    n = r["n"]
    draw = mulberry32(r["seed"])
    special = r.get("nan", 0) + r.get("posinf", 0) + r.get("neginf", 0) > 0
    per = {"normal": 12, "uniform": 1, "int": 1, "constant": 0}[r["dist"]] + (1 if special else 0)
    d = draw(n * per).reshape(n, per) if per else np.zeros((n, 0), dtype=np.uint64)
    if r["dist"] == "normal":
        v = d[:, :12].sum(axis=1).astype(np.float64) / TWO32 - 6.0
    elif r["dist"] == "uniform":
        v = d[:, 0].astype(np.float64) / TWO32
    elif r["dist"] == "int":
        v = np.floor((d[:, 0].astype(np.float64) / TWO32) * r.get("k", 10))
    else:
        v = np.zeros(n)
    v = v * r.get("scale", 1.0) + r.get("loc", 0.0)
    if r.get("quantum"):
        v = np.floor(v / r["quantum"]) * r["quantum"]
    if special:
        u = d[:, -1].astype(np.float64) / TWO32
        pn, pp, pm = r.get("nan", 0), r.get("posinf", 0), r.get("neginf", 0)
        v = np.where(u < pn, np.nan, np.where(u < pn + pp, np.inf, np.where(u < pn + pp + pm, -np.inf, v)))
    return v


def categorical_sample(r):
    draw = mulberry32(r["seed"])
    out = []
    for _ in range(r["n"]):
        if r.get("nulls") and float(draw(1)[0]) / TWO32 < r["nulls"]:
            out.append(None)
            continue
        u = float(draw(1)[0]) / TWO32
        if r.get("skew"):
            u = min(u, float(draw(1)[0]) / TWO32)
        out.append("%s%d" % (r.get("prefix", "c"), math.floor(u * r["k"]) + r.get("offset", 0)))
    return out


def enc(x):
    if isinstance(x, (list, tuple)):
        return [enc(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def load(spec):
    if "values" in spec:
        return np.array([float(v) for v in spec["values"]])
    return numeric_sample(spec)


# ---------------------------------------------------------------- Evidently (legacy) transcription
def get_binned_data(ref, cur, numeric, feel_zeroes=True):
    n_vals = len(set(ref.tolist())) if numeric else None
    if numeric and n_vals > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        rp = np.histogram(ref, bins)[0] / len(ref)
        cp = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = list(set(ref.tolist() if numeric else ref) | set(cur.tolist() if numeric else cur))
        rc = Counter(ref.tolist() if numeric else ref)
        cc = Counter(cur.tolist() if numeric else cur)
        rp = np.array([rc.get(k, 0) / len(ref) for k in keys])
        cp = np.array([cc.get(k, 0) / len(cur) for k in keys])
    if feel_zeroes:
        for p in (rp, cp):
            mn = min(p[p != 0])
            np.place(p, p == 0, mn / 10**6 if mn <= 0.0001 else 0.0001)
    return rp, cp


def ev_psi(ref, cur, numeric):
    rp, cp = get_binned_data(ref, cur, numeric)
    return float(np.sum((rp - cp) * np.log(rp / cp)))


def ev_js(ref, cur, numeric, base=None):
    rp, cp = get_binned_data(ref, cur, numeric, False)
    return float(distance.jensenshannon(rp, cp, base))


def ev_chisquare(ref, cur):
    ref_l = ref.tolist() if isinstance(ref, np.ndarray) else ref
    cur_l = cur.tolist() if isinstance(cur, np.ndarray) else cur
    keys = list(set(ref_l) | set(cur_l))
    rc, cc = Counter(ref_l), Counter(cur_l)
    k_norm = len(cur_l) / len(ref_l)
    f_exp = [rc.get(k, 0) * k_norm for k in keys]
    f_obs = [cc.get(k, 0) for k in keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        res = stats.chisquare(f_obs, f_exp)
    return float(res[0]), float(res[1]), len(keys) - 1


def ev_z(ref, cur):
    ref_l = ref.tolist() if isinstance(ref, np.ndarray) else ref
    cur_l = cur.tolist() if isinstance(cur, np.ndarray) else cur
    if len(set(ref_l)) == 1 and len(set(cur_l)) == 1 and ref_l[0] == cur_l[0]:
        return 1.0
    keys = sorted(set(ref_l) | set(cur_l))
    r = [0 if x == keys[0] else 1 for x in ref_l]
    c = [0 if x == keys[0] else 1 for x in cur_l]
    n1, n2 = len(r), len(c)
    p1, p2 = float(sum(r)) / n1, float(sum(c)) / n2
    P = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - stats.norm.cdf(np.abs(z))))


THRESH = {"ks": 0.05, "chisquare": 0.05, "z": 0.05, "jensenshannon": 0.1, "wasserstein": 0.1}


def ev_verdict(ref, cur, numeric):
    n_values = len(set(ref.tolist() if numeric else ref) | set(cur.tolist() if numeric else cur))
    if len(ref) <= 1000:
        if numeric and n_values > 5:
            test = "ks"
        else:
            test = "chisquare" if n_values > 2 else "z"
    else:
        test = "wasserstein" if numeric and n_values > 5 else "jensenshannon"
    if test == "ks":
        score = float(stats.ks_2samp(ref, cur)[1])
        drift = score <= THRESH[test]
    elif test == "chisquare":
        score = ev_chisquare(ref, cur)[1]
        drift = score < THRESH[test]
    elif test == "z":
        score = ev_z(ref, cur)
        drift = score < THRESH[test]
    elif test == "jensenshannon":
        score = ev_js(ref, cur, numeric)
        drift = score >= THRESH[test]
    else:
        score = float(stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001))
        drift = score >= THRESH[test]
    return {"stattest": test, "threshold": THRESH[test], "score": enc(score), "drifted": bool(drift)}


# ---------------------------------------------------------------- cases
def N(seed, n, **kw):
    return dict(seed=seed, n=n, dist="normal", **kw)


NUMERIC = [
    ("one-vs-one", {"values": [1.5]}, {"values": [2.5]}),
    ("one-vs-one-equal", {"values": [3.0]}, {"values": [3.0]}),
    ("one-vs-two", {"values": [0.0]}, {"values": [-1.0, 1.0]}),
    ("two-vs-three", {"values": [0.5, 1.5]}, {"values": [1.0, 2.0, 3.0]}),
    ("three-vs-three-ties", {"values": [1.0, 1.0, 2.0]}, {"values": [1.0, 2.0, 2.0]}),
    ("nan-inf-tiny", {"values": ["NaN", 1.0, "Infinity", 2.0]}, {"values": ["-Infinity", 3.0, "NaN", 0.5, 1.0]}),
    ("constant-same", dict(seed=1, n=200, dist="constant", loc=4.0), dict(seed=2, n=150, dist="constant", loc=4.0)),
    ("constant-diff", dict(seed=1, n=200, dist="constant", loc=4.0), dict(seed=2, n=150, dist="constant", loc=5.0)),
    ("constant-vs-normal", dict(seed=1, n=300, dist="constant", loc=0.0), N(3, 300)),
    ("normal-50x50", N(11, 50), N(12, 50)),
    ("normal-100x80-shift", N(13, 100), N(14, 80, loc=0.5)),
    ("normal-300x1000", N(15, 300), N(16, 1000, scale=1.25)),
    ("normal-1000x1000", N(17, 1000), N(18, 1000)),
    ("normal-1000x1000-shift", N(19, 1000), N(20, 1000, loc=0.75)),
    ("normal-1000x997", N(21, 1000), N(22, 997, loc=0.1)),
    ("normal-700x3000", N(23, 700), N(24, 3000, loc=0.05)),
    ("ties-int5-300x400", dict(seed=25, n=300, dist="int", k=5), dict(seed=26, n=400, dist="int", k=5, loc=0.0)),
    ("ties-int2-500x500", dict(seed=27, n=500, dist="int", k=2), dict(seed=28, n=500, dist="int", k=2)),
    ("ties-int15-2000x1500", dict(seed=29, n=2000, dist="int", k=15), dict(seed=30, n=1500, dist="int", k=15, loc=1.0)),
    ("ties-int4-3000x3000", dict(seed=31, n=3000, dist="int", k=4), dict(seed=32, n=3000, dist="int", k=4)),
    ("ties-quantum-1200x1300", N(33, 1200, quantum=0.25), N(34, 1300, quantum=0.25, loc=0.1)),
    ("nan-inf-800x900", N(35, 800, nan=0.05, posinf=0.01, neginf=0.01), N(36, 900, nan=0.1, posinf=0.02)),
    ("uniform-1000x10000", dict(seed=37, n=1000, dist="uniform"), dict(seed=38, n=10000, dist="uniform")),
    ("normal-9973x10000", N(39, 9973), N(40, 10000, loc=0.02)),
    ("normal-10000x10000", N(41, 10000), N(42, 10000, loc=0.03)),
    ("normal-10000x10001", N(43, 10000), N(44, 10001, loc=0.03)),
    ("normal-10001x10001-half-even", N(45, 10001), N(46, 10001, loc=0.02)),
    ("normal-10001x10003", N(47, 10001), N(48, 10003, scale=1.1)),
    ("normal-200x20000", N(49, 200), N(50, 20000, loc=0.1)),
    ("normal-20000x5", N(51, 20000), N(52, 5, loc=0.5)),
    ("normal-20000x60", N(53, 20000), N(54, 60, loc=0.3)),
    ("normal-15000x130-far", N(55, 15000), N(56, 130, loc=1.5)),
    ("normal-5000x12000", N(57, 5000), N(58, 12000, loc=0.04)),
    ("normal-12000x12000-far", N(59, 12000), N(60, 12000, loc=0.2)),
    ("normal-100000x100000", N(61, 100000), N(62, 100000, loc=0.005)),
    ("disjoint-20x30", dict(seed=63, n=20, dist="uniform"), dict(seed=64, n=30, dist="uniform", loc=2.0)),
    ("disjoint-12000x11000", dict(seed=65, n=12000, dist="uniform"), dict(seed=66, n=11000, dist="uniform", loc=5.0)),
]


def C(seed, n, k, **kw):
    return dict(seed=seed, n=n, k=k, **kw)


CATEGORICAL = [
    ("k2-300x300", C(101, 300, 2), C(102, 300, 2, skew=True)),
    ("k3-500x400", C(103, 500, 3), C(104, 400, 3)),
    ("k10-800x900-skew", C(105, 800, 10), C(106, 900, 10, skew=True)),
    ("k40-1000x1000", C(107, 1000, 40), C(108, 1000, 40)),
    ("k10-5000x4000", C(109, 5000, 10), C(110, 4000, 10, skew=True)),
    ("new-in-target", C(111, 600, 5), C(112, 700, 5, offset=2)),
    ("missing-in-target", C(113, 2000, 8), C(114, 1500, 4)),
    ("nulls", C(115, 900, 6, nulls=0.1), C(116, 800, 6, nulls=0.3)),
    ("constant-same", C(117, 100, 1), C(118, 80, 1)),
    ("constant-diff", C(119, 100, 1), C(120, 80, 1, offset=1)),
    ("tiny-1x2", C(121, 1, 3), C(122, 2, 3)),
]


def numeric_case(name, a_spec, b_spec):
    a_raw, b_raw = load(a_spec), load(b_spec)
    a, b = a_raw[np.isfinite(a_raw)], b_raw[np.isfinite(b_raw)]
    ks = stats.ks_2samp(a, b)
    n1, n2 = len(a), len(b)
    method = "exact" if max(n1, n2) <= 10000 else "asymp"
    prof = lambda raw, x: {
        "rows": len(raw), "count": len(x), "missing": int(np.isnan(raw).sum()),
        "infinite": int(np.isinf(raw).sum()), "distinct": len(np.unique(x)),
        "min": enc(x.min()), "max": enc(x.max()), "mean": enc(np.mean(x)), "std": enc(np.std(x)),
    }
    w = stats.wasserstein_distance(a, b)
    return {
        "name": name, "baseline": a_spec, "target": b_spec,
        "expected": {
            "baseline": prof(a_raw, a), "target": prof(b_raw, b),
            "ksStatistic": enc(ks.statistic), "ksPValue": enc(ks.pvalue), "ksMethod": method,
            "wasserstein": enc(w), "normedWasserstein": enc(w / max(np.std(a), 0.001)),
            "energy": enc(stats.energy_distance(a, b)),
            "psi": enc(ev_psi(a, b, True)), "jensenShannon": enc(ev_js(a, b, True, 2)),
            "jensenShannonLn": enc(ev_js(a, b, True)),
            "verdict": ev_verdict(a, b, True),
        },
    }


def categorical_case(name, a_spec, b_spec):
    a_raw, b_raw = categorical_sample(a_spec), categorical_sample(b_spec)
    a = [v for v in a_raw if v is not None]
    b = [v for v in b_raw if v is not None]
    keys = list(set(a_raw) | set(b_raw))
    ca, cb = Counter(a_raw), Counter(b_raw)
    pa = np.array([ca.get(k, 0) / len(a_raw) for k in keys])
    pb = np.array([cb.get(k, 0) / len(b_raw) for k in keys])
    stat, p, dof = ev_chisquare(a, b)
    return {
        "name": name, "baseline": a_spec, "target": b_spec,
        "expected": {
            "baseline": {"rows": len(a_raw), "missing": len(a_raw) - len(a), "unique": len(set(a))},
            "target": {"rows": len(b_raw), "missing": len(b_raw) - len(b), "unique": len(set(b))},
            "euclidean": enc(np.linalg.norm(pa - pb)),
            "psi": enc(ev_psi(a, b, False)), "jensenShannon": enc(ev_js(a, b, False, 2)),
            "jensenShannonLn": enc(ev_js(a, b, False)),
            "chiSquare": {"statistic": enc(stat), "pValue": enc(p), "dof": dof},
            "verdict": ev_verdict(a, b, False),
        },
    }


def special_functions():
    kstwo_cases, smirnov_cases, chi2_cases, ndtr_cases = [], [], [], []
    for n in [1, 2, 3, 5, 10, 37, 100, 140, 141, 500, 5000, 5001, 50000, 100000, 100001, 400000]:
        xs = [z / math.sqrt(n) for z in (0.3, 0.5, 0.7, 0.9, 1.0, 1.2, 1.5, 2.0, 3.0, 4.0, 6.0)]
        xs += [0.5, 0.6, 0.9, 0.7 / n, 1.0 / n, 0.99]
        for x in xs:
            if 0 < x < 1:
                kstwo_cases.append([n, x, enc(stats.kstwo.sf(x, n))])
                smirnov_cases.append([n, x, enc(smirnov(n, x))])
    for df in [1, 2, 3, 4, 5, 7, 10, 19, 39, 99, 100, 499, 1000, 1999]:
        for f in [0.01, 0.1, 0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0]:
            x = df * f
            chi2_cases.append([x, df, enc(stats.chi2.sf(x, df))])
    for z in [0.0, 0.1, 0.5, 0.7071, 1.0, 1.5, 1.96, 2.5, 3.0, 5.0, 8.0, 10.0, 20.0, 38.0]:
        ndtr_cases.append([z, enc(stats.norm.cdf(z)), enc(stats.norm.cdf(-z))])
    return {"kstwoSf": kstwo_cases, "smirnov": smirnov_cases, "chi2Sf": chi2_cases, "ndtr": ndtr_cases}


def main():
    numeric = [numeric_case(*c) for c in NUMERIC]
    categorical = [categorical_case(*c) for c in CATEGORICAL]
    # Dataset verdict over a set of columns (Evidently: share of drifted columns >= 0.5).
    datasets = []
    for name, cols in [
        ("mixed-drifting", ["normal-1000x1000-shift", "normal-100x80-shift", "k10-800x900-skew", "normal-50x50"]),
        ("mixed-stable", ["normal-1000x1000", "normal-50x50", "k3-500x400", "normal-1000x1000-shift"]),
    ]:
        verdicts = [c["expected"]["verdict"] for c in numeric + categorical if c["name"] in cols]
        drifted = sum(1 for v in verdicts if v["drifted"])
        datasets.append({"name": name, "columns": cols, "driftedColumns": drifted,
                         "share": drifted / len(cols), "datasetDrift": drifted / len(cols) >= 0.5})
    doc = {
        "generator": "scripts/golden/drift_metrics.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
        "tolerances": {"ksStatistic": 0, "exactKsP": 1e-12, "distances": 1e-12, "specialP": 1e-10},
        "numeric": numeric,
        "categorical": categorical,
        "datasets": datasets,
        "special": special_functions(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote %s (%d numeric, %d categorical cases)" % (OUT, len(numeric), len(categorical)))


if __name__ == "__main__":
    sys.exit(main())
