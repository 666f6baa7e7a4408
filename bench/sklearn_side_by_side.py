"""scikit-learn side of the benchmark: the same data, timed in the same run as ours.

Called by bench/index.ts with Debian's /usr/bin/python3 (python3-sklearn). Prints one JSON object.
  iforest CSV LABEL_COL SEEDS REPEATS           fit+score time, mean ROC-AUC over seeds, scoring points/s
  dbscan  CSV EPS MIN_PTS REPEATS LABELS_OUT    fit time, labels written one per line
"""
import json
import sys
import time

import numpy as np


def load(path, label_col=None):
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    if label_col is None:
        return data, None
    j = header.index(label_col)
    return np.delete(data, j, axis=1), data[:, j]


def best_of(fn, repeats):
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), sorted(times)[len(times) // 2], result


def iforest(path, label_col, seeds, repeats):
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import average_precision_score, roc_auc_score

    X, y = load(path, label_col)
    aucs, aps = [], []
    for seed in range(seeds):
        s = -IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(X).score_samples(X)
        aucs.append(roc_auc_score(y, s))
        aps.append(average_precision_score(y, s))

    def fit_score():
        m = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(X)
        return m.score_samples(X)

    best, median, _ = best_of(fit_score, repeats)
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(X)
    score_best, _, _ = best_of(lambda: model.score_samples(X), repeats)
    return {
        "n": int(X.shape[0]),
        "d": int(X.shape[1]),
        "fitScoreSeconds": best,
        "fitScoreSecondsMedian": median,
        "scorePointsPerSecond": X.shape[0] / score_best,
        "rocAucMean": float(np.mean(aucs)),
        "rocAucSd": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else 0.0,
        "averagePrecisionMean": float(np.mean(aps)),
        "seeds": seeds,
    }


def dbscan(path, eps, min_pts, repeats, labels_out):
    from sklearn.cluster import DBSCAN

    X, _ = load(path)
    best, median, model = best_of(lambda: DBSCAN(eps=eps, min_samples=min_pts).fit(X), repeats)
    np.savetxt(labels_out, model.labels_, fmt="%d")
    return {"n": int(X.shape[0]), "d": int(X.shape[1]), "fitSeconds": best, "fitSecondsMedian": median}


def main(argv):
    import sklearn

    task = argv[1]
    if task == "iforest":
        out = iforest(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif task == "dbscan":
        out = dbscan(argv[2], float(argv[3]), int(argv[4]), int(argv[5]), argv[6])
    else:
        raise SystemExit(f"unknown task {task}")
    out["sklearnVersion"] = sklearn.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
