"""PROC CORR and weighted PROC MEANS benchmark (descriptive procedures the BIOS667 programs start with).

1. PROC CORR (Pearson with p-values, simple statistics, COV) on 500,000 rows x 10 variables with 1% missing
   values (pairwise deletion), against numpy's pairwise-complete correlations in the same run.
2. PROC MEANS with a WEIGHT statement and 100 CLASS levels on the same rows, against a pandas groupby.
Usage: python bench/bench_corr.py [--rows N]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from _common import put, quiet_session


def best_of(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500_000)
    args = ap.parse_args()
    n, k = args.rows, 10
    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, k)) + rng.normal(size=(n, 1))
    X[rng.random((n, k)) < 0.01] = np.nan
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(1, k + 1)])
    frame["g"] = rng.integers(0, 100, n).astype(float)
    frame["w"] = rng.uniform(0.5, 2.0, n)
    session = quiet_session()
    put(session, "a", frame)

    def sas_corr():
        session.submit("proc corr data=a cov; var x1-x10; run;")

    def numpy_corr():
        ok = ~np.isnan(X)
        out = np.empty((k, k))
        for i in range(k):
            for j in range(k):
                m = ok[:, i] & ok[:, j]
                out[i, j] = np.corrcoef(X[m, i], X[m, j])[0, 1]
        return out

    t_sas, t_np = best_of(sas_corr), best_of(numpy_corr)
    print(f"PROC CORR COV, {n:,} rows x {k} variables (pairwise): sasglm {t_sas:.3f}s; numpy pairwise baseline "
          f"{t_np:.3f}s; ratio {t_sas / t_np:.1f}")

    def sas_means():
        session.submit("proc means data=a noprint nway; class g; var x1-x10; weight w; "
                       "output out=m mean= std= / autoname; run;")

    def pandas_means():
        out = {}
        for c in frame.columns[:k]:
            d = frame[[c, "g", "w"]].dropna()
            sw = d.groupby("g")["w"].sum()
            mean = (d[c] * d["w"]).groupby(d["g"]).sum() / sw
            css = (d["w"] * (d[c] - d["g"].map(mean)) ** 2).groupby(d["g"]).sum()
            out[c] = (mean, np.sqrt(css / (d.groupby("g").size() - 1)))
        return out

    t_sas2, t_pd2 = best_of(sas_means), best_of(pandas_means)
    assert session.get_dataset("m").nobs == 100
    print(f"PROC MEANS WEIGHT, CLASS with 100 levels, {n:,} rows x {k} variables: sasglm {t_sas2:.3f}s; "
          f"pandas groupby baseline {t_pd2:.3f}s; ratio {t_sas2 / t_pd2:.1f}")


if __name__ == "__main__":
    main()
