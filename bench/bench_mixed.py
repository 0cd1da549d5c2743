"""PROC MIXED benchmarks (issue: MIXED).

1. Unstructured-covariance MMRM: 800 subjects x 4 visits, treatment x visit, REPEATED TYPE=UN, DDFM=KR;
   the same model with TYPE=ANTE(1) and TYPE=ARMA(1,1) (nonlinear structures, numerical Hessian).
2. Random intercept + slope (TYPE=UN) on 50,000 subjects x 4 visits.
3. Geostatistical model: 400 points in one block, REPEATED / SUBJECT=INTERCEPT TYPE=SP(EXP)(x y) LOCAL.

The whole PROC step as a user runs it; baseline in the same run: the ordinary least squares fit of the
same fixed effects (PROC GENMOD DIST=NORMAL), so the ratio is comparable across machines.
Usage: python bench/bench_mixed.py [--subjects N]
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from _common import put, quiet_session, timed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=50_000)
    args = ap.parse_args()
    rng = np.random.default_rng(8)
    K, T = 800, 4
    C = np.array([[4, 2, 1.5, 1], [2, 4, 2, 1.5], [1.5, 2, 4, 2], [1, 1.5, 2, 4.0]])
    e = rng.multivariate_normal(np.zeros(T), C, size=K)
    trt = np.repeat(np.arange(K) % 2, T).astype(float)
    visit = np.tile(np.arange(1, T + 1), K).astype(float)
    y = 10 + trt + 0.5 * visit + 0.3 * trt * visit + e.ravel()
    keep = ~((visit == 4) & (rng.random(K * T) < 0.15))
    s = quiet_session()
    put(s, "mmrm", pd.DataFrame({"id": np.repeat(np.arange(K), T).astype(float), "trt": trt,
                                                "visit": visit, "y": y})[keep].reset_index(drop=True))
    t1 = timed(s, "proc mixed data=mmrm; class id trt visit; model y = trt visit trt*visit / s ddfm=kr;"
                  "repeated visit / subject=id type=un; run;")
    b1 = timed(s, "proc genmod data=mmrm; class trt visit; model y = trt visit trt*visit; run;")
    print(f"MMRM, UN, {K} subjects x {T} visits, DDFM=KR: {t1:.2f}s (OLS baseline {b1:.3f}s, ratio {t1 / b1:.0f})")
    for kind in ("ante(1)", "arma(1,1)"):
        tk = timed(s, "proc mixed data=mmrm; class id trt visit; model y = trt visit trt*visit / s ddfm=kr;"
                      f"repeated visit / subject=id type={kind}; run;")
        print(f"MMRM, {kind.upper()}, {K} subjects x {T} visits, DDFM=KR: {tk:.2f}s (ratio {tk / b1:.0f})")
    K = args.subjects
    G = np.array([[1.0, 0.2], [0.2, 0.3]])
    b = rng.multivariate_normal([0, 0], G, size=K)
    t = np.tile(np.arange(T), K).astype(float)
    yy = 5 + 0.4 * t + np.repeat(b[:, 0], T) + np.repeat(b[:, 1], T) * t + rng.normal(size=K * T)
    put(s, "rs", pd.DataFrame({"id": np.repeat(np.arange(K), T).astype(float), "t": t, "y": yy}))
    t2 = timed(s, "proc mixed data=rs; class id; model y = t / s; random intercept t / subject=id type=un; run;")
    b2 = timed(s, "proc genmod data=rs; model y = t; run;")
    print(f"random intercept + slope (UN), {K:,} subjects x {T}: {t2:.2f}s (OLS baseline {b2:.3f}s, "
          f"ratio {t2 / b2:.0f})")
    n = 400
    xy = rng.uniform(0, 10, size=(n, 2))
    D = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    z = 1 + 0.3 * xy[:, 0] + np.linalg.cholesky(2 * np.exp(-D / 2) + 0.5 * np.eye(n)) @ rng.normal(size=n)
    put(s, "geo", pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "z": z}))
    t3 = timed(s, "proc mixed data=geo; model z = x / s; repeated / subject=intercept type=sp(exp)(x y) local; run;")
    b3 = timed(s, "proc genmod data=geo; model z = x; run;")
    print(f"spatial SP(EXP) + nugget, {n} points in one block: {t3:.2f}s (OLS baseline {b3:.3f}s, "
          f"ratio {t3 / b3:.0f})")


if __name__ == "__main__":
    main()
