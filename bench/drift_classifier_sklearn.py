#!/usr/bin/python3
"""scikit-learn side of bench/drift-classifier.ts: the same 5-fold out-of-fold domain-classifier job.

    /usr/bin/python3 bench/drift_classifier_sklearn.py DATA.bin BASELINE_ROWS TARGET_ROWS FEATURES EARLY REPEAT

DATA.bin: float64 little-endian, baseline rows then target rows, row-major. EARLY: 'auto' (sklearn's default,
on above 10,000 rows) or 'off'. Prints one JSON object: best-of-REPEAT wall and CPU seconds, MCC, AUC, trees
per fold, and the OpenMP thread count sklearn used (set OMP_NUM_THREADS to change it).
"""
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import matthews_corrcoef, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_info


def job(X, y, early):
    oof = np.zeros(len(y))
    iters = []
    for train, test in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(X, y):
        model = HistGradientBoostingClassifier(
            random_state=0, class_weight="balanced", early_stopping="auto" if early == "auto" else False
        )
        model.fit(X[train], y[train])
        iters.append(int(model.n_iter_))
        oof[test] = model.predict_proba(X[test])[:, 1]
    return oof, iters


def main():
    path, nb, nt, f, early, repeat = sys.argv[1:7]
    nb, nt, f, repeat = int(nb), int(nt), int(f), int(repeat)
    X = np.fromfile(path, dtype="<f8").reshape(nb + nt, f)
    y = np.r_[np.zeros(nb, dtype=int), np.ones(nt, dtype=int)]
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        oof, iters = job(X, y, early)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    omp = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]
    print(
        json.dumps(
            {
                "sklearn": sklearn.__version__,
                "numpy": np.__version__,
                "ompThreads": omp[0] if omp else None,
                "seconds": min(walls),
                "cpuSeconds": cpus[walls.index(min(walls))],
                "allSeconds": walls,
                "mcc": float(matthews_corrcoef(y, oof > 0.5)),
                "auc": float(roc_auc_score(y, oof)),
                "iterations": iters,
            }
        )
    )


if __name__ == "__main__":
    main()
