#!/usr/bin/python3
"""Golden fixtures for the drift coefficient's domain classifier (issue 5).

Run with Debian's python3-sklearn / numpy (no pip):

    /usr/bin/python3 scripts/golden/drift_classifier.py

writes packages/server/test/fixtures/drift/classifier.json:

- "mcc" / "auc": sklearn.metrics.matthews_corrcoef and roc_auc_score on label / prediction / score vectors,
  inline or regenerated from a seeded recipe (mulberry32, exact arithmetic); the TypeScript port must match
  them exactly. A case sklearn refuses (roc_auc_score with one class) has "error".
- "binning": sklearn's _BinMapper thresholds (255 bins + missing) for seeded columns, duplicates removed.
- "scenarios": seeded baseline/target pairs (recipe mirrored by
  packages/server/src/core/drift/classifier-scenarios.ts) with sklearn's HistGradientBoostingClassifier
  5-fold stratified out-of-fold MCC (threshold 0.5) and ROC AUC, for a behaviour comparison (the trees are
  not the same, so not for equality).
"""
import json
import math
import os
import platform
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
from sklearn.metrics import matthews_corrcoef, roc_auc_score
from sklearn.model_selection import StratifiedKFold

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages/server/test/fixtures/drift/classifier.json")
TWO32 = 4294967296.0


def mulberry32(seed):
    """Returns draw(count) -> the next `count` uint32 draws (np.uint64): draw k depends on (seed, k) only."""
    state = {"k": 0}
    seed &= 0xFFFFFFFF
    m = np.uint64(0xFFFFFFFF)

    def draw(count):
        k = np.arange(state["k"] + 1, state["k"] + count + 1, dtype=np.uint64)
        state["k"] += count
        a = (np.uint64(seed) + k * np.uint64(0x6D2B79F5)) & m
        t = ((a ^ (a >> np.uint64(15))) * (a | np.uint64(1))) & m
        t2 = ((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & m
        t = ((t + t2) & m) ^ t
        return (t ^ (t >> np.uint64(14))) & m

    return draw


def uniform(draw, n):
    return draw(n).astype(np.float64) / TWO32


def normal(draw, n):
    """Irwin–Hall(12) − 6, exact: the integer sum fits in float64."""
    return draw(12 * n).reshape(n, 12).sum(axis=1).astype(np.float64) / TWO32 - 6.0


# ---------------------------------------------------------------- formula cases
def mcc_recipe(r):
    draw = mulberry32(r["seed"])
    u = uniform(draw, 2 * r["n"]).reshape(r["n"], 2)  # per row: label draw, flip draw
    y = (u[:, 0] < r["pos"]).astype(int)
    flip = (u[:, 1] < r["flip"]).astype(int)
    return y, y ^ flip


def auc_recipe(r):
    draw = mulberry32(r["seed"])
    u = uniform(draw, 2 * r["n"]).reshape(r["n"], 2)  # per row: label draw, score draw
    y = (u[:, 0] < r["pos"]).astype(int)
    s = u[:, 1]
    if r["levels"] > 0:
        s = np.floor(s * r["levels"]) / r["levels"]
    return y, s + r["shift"] * y


def mcc_cases():
    inline = [
        ("textbook", [0, 1, 1, 0, 1, 0, 0, 1], [0, 1, 0, 0, 1, 1, 0, 1]),
        ("perfect", [0, 0, 1, 1], [0, 0, 1, 1]),
        ("inverse", [0, 0, 1, 1], [1, 1, 0, 0]),
        ("constant prediction", [0, 1, 1, 0, 1], [1, 1, 1, 1, 1]),
        ("all one class, mixed predictions", [1, 1, 1, 1], [1, 0, 1, 1]),
        ("all one class, same predictions", [0, 0, 0], [0, 0, 0]),
        ("single row", [1], [1]),
    ]
    out = [{"name": n, "yTrue": t, "yPred": p, "expected": float(matthews_corrcoef(t, p))} for n, t, p in inline]
    for r in [
        {"seed": 11, "n": 50, "pos": 0.5, "flip": 0.3},
        {"seed": 12, "n": 1000, "pos": 0.2, "flip": 0.1},
        {"seed": 13, "n": 100000, "pos": 0.5, "flip": 0.35},
        {"seed": 14, "n": 100000, "pos": 0.9, "flip": 0.45},
        {"seed": 15, "n": 30000, "pos": 0.5, "flip": 0.5},
    ]:
        y, p = mcc_recipe(r)
        out.append({"name": f"recipe {r}", "recipe": r, "expected": float(matthews_corrcoef(y, p))})
    return out


def auc_cases():
    inline = [
        ("textbook", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
        ("all tied", [0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]),
        ("ties across classes", [0, 0, 1, 1, 0, 1, 1, 0], [0.2, 0.7, 0.7, 0.9, 0.2, 0.2, 0.5, 0.5]),
        ("perfect", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]),
        ("reversed", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),
        ("two rows", [0, 1], [0.3, 0.3]),
        ("one class", [1, 1, 1], [0.2, 0.5, 0.9]),
    ]
    out = []
    for n, t, s in inline:
        case = {"name": n, "yTrue": t, "score": s}
        try:
            case["expected"] = float(roc_auc_score(t, s))
        except ValueError as e:
            case["error"] = str(e)
        out.append(case)
    for r in [
        {"seed": 21, "n": 10, "pos": 0.5, "levels": 0, "shift": 0.2},
        {"seed": 22, "n": 200, "pos": 0.3, "levels": 5, "shift": 0.1},
        {"seed": 23, "n": 5000, "pos": 0.5, "levels": 0, "shift": 0.0},
        {"seed": 24, "n": 5000, "pos": 0.5, "levels": 50, "shift": 0.05},
        {"seed": 25, "n": 100000, "pos": 0.5, "levels": 0, "shift": 0.1},
        {"seed": 26, "n": 100000, "pos": 0.25, "levels": 1000, "shift": 0.3},
        {"seed": 27, "n": 100000, "pos": 0.5, "levels": 3, "shift": 0.0},
    ]:
        y, s = auc_recipe(r)
        out.append({"name": f"recipe {r}", "recipe": r, "expected": float(roc_auc_score(y, s))})
    return out


def binning_cases():
    """sklearn's _BinMapper thresholds (duplicates removed, as the TS port does) for seeded columns."""
    out = []
    for r in [
        {"seed": 31, "n": 200, "quantum": 0.1, "nan": 0.0},
        {"seed": 32, "n": 5000, "quantum": 0, "nan": 0.0},
        {"seed": 33, "n": 20000, "quantum": 0, "nan": 0.1},
        {"seed": 34, "n": 3000, "quantum": 0.02, "nan": 0.0},
        {"seed": 35, "n": 100000, "quantum": 0, "nan": 0.0},
    ]:
        draw = mulberry32(r["seed"])
        x = normal(draw, r["n"])
        if r["quantum"] > 0:
            x = np.floor(x / r["quantum"]) * r["quantum"]
        if r["nan"] > 0:
            x[uniform(draw, r["n"]) < r["nan"]] = np.nan
        mapper = _BinMapper(n_bins=256, random_state=0).fit(x.reshape(-1, 1))
        th = mapper.bin_thresholds_[0]
        out.append({"name": f"recipe {r}", "recipe": r, "thresholds": np.unique(th).tolist(), "sklearnCount": len(th)})
    return out


# ---------------------------------------------------------------- behaviour scenarios (mirror of classifier-scenarios.ts)
def side(draw, s, target):
    n = s["rows"] if target else s.get("baselineRows", s["rows"])
    F = s["numeric"]
    X = normal(draw, n * F).reshape(n, F)
    cols = [X[:, f].copy() for f in range(F)]
    cat = None
    if "categories" in s:
        probs = s["categories"]["target" if target else "baseline"]
        u = uniform(draw, n)
        cat = np.full(n, len(probs) - 1, dtype=np.float64)
        cum, cums = 0.0, []
        for p in probs[:-1]:
            cum += p
            cums.append(cum)
        for j in reversed(range(len(cums))):
            cat[u < cums[j]] = j
    sh = s["shift"]
    if sh["kind"] == "missing":
        rate = sh["missing"][1 if target else 0]
        u = uniform(draw, n)
        cols[sh["feature"]][u < rate] = np.nan
    if target and sh["kind"] in ("mean", "scale", "correlation"):
        a = cols[sh["feature"]]
        if sh["kind"] == "mean":
            cols[sh["feature"]] = a + sh["amount"]
        elif sh["kind"] == "scale":
            cols[sh["feature"]] = a * sh["amount"]
        elif sh["kind"] == "correlation":
            c = math.sqrt(1 - sh["amount"] * sh["amount"])
            cols[sh["feature"] + 1] = sh["amount"] * a + c * cols[sh["feature"] + 1]
    if cat is not None:
        cols.append(cat)
    return np.column_stack(cols)


def scenario_tables(s):
    draw = mulberry32(s["seed"])
    base = side(draw, s, False)
    return base, side(draw, s, True)


def sklearn_oof(s):
    base, tgt = scenario_tables(s)
    X = np.vstack([base, tgt])
    y = np.r_[np.zeros(len(base), dtype=int), np.ones(len(tgt), dtype=int)]
    cat_mask = [False] * s["numeric"] + ([True] if "categories" in s else [])
    oof = np.zeros(len(y))
    iters = []
    t0 = time.perf_counter()
    for train, test in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(X, y):
        model = HistGradientBoostingClassifier(
            random_state=0, class_weight="balanced", categorical_features=cat_mask if any(cat_mask) else None
        )
        model.fit(X[train], y[train])
        iters.append(int(model.n_iter_))
        oof[test] = model.predict_proba(X[test])[:, 1]
    return {
        "mcc": float(matthews_corrcoef(y, oof > 0.5)),
        "auc": float(roc_auc_score(y, oof)),
        "iterations": iters,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def scenarios():
    none = [
        {"name": f"identical seed {seed}", "seed": seed, "rows": 3000, "numeric": 6, "shift": {"kind": "none", "feature": 0, "amount": 0}}
        for seed in (101, 102, 103, 104, 105)
    ]
    cats = {"baseline": [0.4, 0.3, 0.2, 0.1], "target": [0.1, 0.2, 0.3, 0.4]}
    shifted = [
        {"name": "mean shift +1 sd on x0", "seed": 201, "rows": 3000, "numeric": 6, "shift": {"kind": "mean", "feature": 0, "amount": 1.0}},
        {"name": "variance only: sd x2.5 on x2", "seed": 202, "rows": 3000, "numeric": 6, "shift": {"kind": "scale", "feature": 2, "amount": 2.5}},
        {"name": "correlation only: x3-x4 rho 0.9", "seed": 203, "rows": 3000, "numeric": 6, "shift": {"kind": "correlation", "feature": 3, "amount": 0.9}},
        {"name": "categorical frequency shift", "seed": 204, "rows": 3000, "numeric": 4, "categories": cats, "shift": {"kind": "categorical", "feature": 4, "amount": 0}},
        {"name": "missing-rate shift on x1: 5% -> 40%", "seed": 205, "rows": 3000, "numeric": 6, "shift": {"kind": "missing", "feature": 1, "amount": 0, "missing": [0.05, 0.4]}},
        {"name": "identical categorical", "seed": 206, "rows": 3000, "numeric": 4, "categories": {"baseline": cats["baseline"], "target": cats["baseline"]}, "shift": {"kind": "none", "feature": 0, "amount": 0}},
        {"name": "identical, unequal sides 6000 vs 1500", "seed": 207, "rows": 1500, "baselineRows": 6000, "numeric": 6, "shift": {"kind": "none", "feature": 0, "amount": 0}},
        {"name": "mean shift +1 sd, unequal sides 6000 vs 1500", "seed": 208, "rows": 1500, "baselineRows": 6000, "numeric": 6, "shift": {"kind": "mean", "feature": 0, "amount": 1.0}},
    ]
    out = []
    for s in none + shifted:
        s = dict(s)
        s["sklearn"] = sklearn_oof(s)
        print(f"{s['name']}: {s['sklearn']}", file=sys.stderr)
        out.append(s)
    return out


def main():
    doc = {
        "generator": "scripts/golden/drift_classifier.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "sklearn": sklearn.__version__},
        "sklearnClassifier": "HistGradientBoostingClassifier(random_state=0, class_weight='balanced'), "
        "StratifiedKFold(5, shuffle=True, random_state=0), threshold 0.5",
        "mcc": mcc_cases(),
        "auc": auc_cases(),
        "binning": binning_cases(),
        "scenarios": scenarios(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
