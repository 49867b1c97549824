#!/usr/bin/python3
"""Baseline for bench/drift-metrics.ts: scipy's ks_2samp + wasserstein_distance + energy_distance per feature.

    /usr/bin/python3 bench/drift_metrics_scipy.py <file.f64> <rows> <features> [reps]

<file.f64> holds float64 little-endian: baseline feature 0..F-1 (rows each), then target feature 0..F-1.
Prints one JSON object: per-repetition wall seconds (all features, the three functions) and per-feature results.
"""
import json
import sys
import time

import numpy as np
import scipy
from scipy import stats


def main():
    path, rows, feats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    data = np.fromfile(path, dtype="<f8").reshape(2, feats, rows)
    seconds, results = [], []
    for _ in range(reps):
        results = []
        t0 = time.perf_counter()
        for f in range(feats):
            a, b = data[0, f], data[1, f]
            ks = stats.ks_2samp(a, b)
            w = stats.wasserstein_distance(a, b)
            e = stats.energy_distance(a, b)
            results.append({"ksStatistic": float(ks.statistic), "ksPValue": float(ks.pvalue),
                            "wasserstein": float(w), "energy": float(e)})
        seconds.append(time.perf_counter() - t0)
    print(json.dumps({"scipy": scipy.__version__, "numpy": np.__version__, "seconds": seconds,
                      "results": results}))


if __name__ == "__main__":
    main()
