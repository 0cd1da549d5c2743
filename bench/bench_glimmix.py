"""PROC GLIMMIX benchmarks (issue: GLIMMIX).

1. The course's amenorrhea step (binary, random intercept + slope, UN, QPOINTS=5, EMPIRICAL).
2. The course's epilepsy step (Poisson, offset, random intercept + slope, UN, QPOINTS=50, EMPIRICAL).
3. A simulated binary random intercept + slope model, 20,000 subjects x 6 visits, QPOINTS=5.
4. A simulated Poisson model with G-side TYPE=AR(1) over 3 periods (LAPLACE) and a negative binomial random
   intercept model under RSPL (the default method), 5,000 subjects x 6 observations each.
5. A simulated 3-category nominal response (LINK=GLOGIT), random intercepts per category with GROUP=response,
   QPOINTS=5, 300 subjects x 4 visits (the CAMIS nominal program's shape).

Each is the whole PROC step as a user runs it.  Baseline in the same run: the GLM fit (PROC GENMOD, no
random effects) of the same data, so the ratio is comparable across machines.  Peak memory is the
process's peak resident set size (resource.getrusage) measured around step 3.
Usage: python bench/bench_glimmix.py [--subjects N]
"""
from __future__ import annotations

import argparse
import resource

import numpy as np
import pandas as pd

from _common import COURSE_DATA, put, quiet_session, timed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=20_000)
    args = ap.parse_args()
    if (COURSE_DATA / "amenorrhea.sas7bdat").exists():
        s = quiet_session(course_data=True)
        s.submit("data amenorrhea; set s857.amenorrhea; t=time; time2=time**2; run;"
                 "proc sort data=amenorrhea; by descending trt; run;"
                 "data epilepsy; set s857.epilepsy; time=0;y=y0;output; time=1;y=y1;output; time=2;y=y3;output;"
                 "time=3;y=y3;output; time=4;y=y4;output; drop y0 y1 y2 y3 y4; run;"
                 "data epilepsy; set epilepsy; if time=0 then t=log(8); else t=log(2); run;"
                 "proc sort data=epilepsy; by descending trt; run;")
        a = timed(s, "proc glimmix data=amenorrhea method=quad(qpoints=5) empirical order=data; class id trt;"
                         "model y = time time2 trt*time trt*time2 /dist=binomial link=logit s oddsratio;"
                         "random intercept time/subject=id type=un; run;", repeat=3)
        ga = timed(s, "proc genmod data=amenorrhea; class trt; model y = time time2 trt*time trt*time2"
                          " /dist=binomial; run;", repeat=3)
        e = timed(s, "proc glimmix data=epilepsy method=quad(qpoints=50) empirical order=data; class id trt;"
                         "model y = time trt trt*time /dist=poisson link=log s offset=t;"
                         "random intercept time/subject=id type=un; run;", repeat=3)
        ge = timed(s, "proc genmod data=epilepsy; class trt; model y = time trt trt*time"
                          " /dist=poisson offset=t; run;", repeat=3)
        print(f"course amenorrhea QUAD(5) step: {a:.2f}s (GLM baseline {ga:.3f}s, ratio {a / ga:.0f})")
        print(f"course epilepsy QUAD(50) step: {e:.2f}s (GLM baseline {ge:.3f}s, ratio {e / ge:.0f})")
    K, T = args.subjects, 6
    rng = np.random.default_rng(5)
    G = np.array([[1.0, 0.1], [0.1, 0.25]])
    b = rng.multivariate_normal([0, 0], G, size=K)
    t = np.tile(np.arange(T), K).astype(float)
    x = rng.normal(size=K * T)
    eta = -0.4 + 0.2 * t + 0.5 * x + np.repeat(b[:, 0], T) + np.repeat(b[:, 1], T) * t
    y = (rng.random(K * T) < 1 / (1 + np.exp(-eta))).astype(float)
    s = quiet_session()
    put(s, "sim", pd.DataFrame({"id": np.repeat(np.arange(K), T).astype(float), "t": t, "x": x,
                                               "y": y}))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tq = timed(s, "proc glimmix data=sim method=quad(qpoints=5); class id;"
                  "model y(event='1') = t x / dist=binary s; random intercept t / subject=id type=un; run;")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tg = timed(s, "proc genmod data=sim descending; model y = t x / dist=bin; run;")
    print(f"binary random intercept+slope, {K:,} subjects x {T} visits, QUAD(5): {tq:.2f}s, peak RSS "
          f"{peak / 1024:.0f} MiB (was {before / 1024:.0f} MiB before the step); GLM baseline {tg:.2f}s, "
          f"ratio {tq / tg:.0f}")

    K2 = 5_000
    rng = np.random.default_rng(6)
    b = np.empty((K2, 3))
    b[:, 0] = rng.normal(size=K2) * 0.8
    for j in (1, 2):
        b[:, j] = 0.6 * b[:, j - 1] + rng.normal(size=K2) * 0.64
    per = np.tile(np.repeat([1.0, 2.0, 3.0], 2), K2)
    x2 = rng.normal(size=K2 * 6)
    mu = np.exp(0.3 + 0.4 * x2 + b[np.repeat(np.arange(K2), 6), (per - 1).astype(int)])
    y2 = rng.poisson(mu * rng.gamma(2.0, 0.5, size=K2 * 6)).astype(float)
    put(s, "cnt", pd.DataFrame({"id": np.repeat(np.arange(K2), 6).astype(float), "per": per, "x": x2, "y": y2}))
    ta = timed(s, "proc glimmix data=cnt method=laplace; class id per; model y = x / dist=poisson s;"
                  "random per / subject=id type=ar(1); run;")
    tn = timed(s, "proc glimmix data=cnt; class id; model y = x / dist=negbin s; random int / subject=id; run;")
    tg2 = timed(s, "proc genmod data=cnt; model y = x / dist=poisson; run;")
    print(f"Poisson, G-side AR(1) over 3 periods, {K2:,} subjects x 6, LAPLACE: {ta:.2f}s; negative binomial "
          f"random intercept, RSPL: {tn:.2f}s (GLM baseline {tg2:.3f}s, ratios {ta / tg2:.0f} and {tn / tg2:.0f})")

    K3, T3 = 300, 4
    rng = np.random.default_rng(7)
    u = rng.normal(size=(K3, 2)) * [0.8, 0.5]
    x3 = rng.normal(size=K3 * T3)
    e1 = np.exp(0.3 - 0.4 * x3 + np.repeat(u[:, 0], T3))
    e2 = np.exp(-0.2 + 0.6 * x3 + np.repeat(u[:, 1], T3))
    v = rng.random(K3 * T3)
    cat = np.where(v < e1 / (1 + e1 + e2), "A", np.where(v < (e1 + e2) / (1 + e1 + e2), "B", "C"))
    put(s, "nom", pd.DataFrame({"id": np.repeat(np.arange(K3), T3).astype(float), "x": x3, "cat": cat}))
    tgl = timed(s, "proc glimmix data=nom method=quad(qpoints=5); class id;"
                   "model cat = x / dist=multinomial link=glogit s; random intercept / subject=id group=cat; run;")
    tgm = timed(s, "proc glimmix data=nom; model cat = x / dist=multinomial link=glogit s; run;")
    print(f"nominal GLOGIT, random intercepts per category (GROUP=), {K3} subjects x {T3}, QUAD(5): {tgl:.2f}s "
          f"(GLM-mode baseline {tgm:.3f}s, ratio {tgl / tgm:.0f})")


if __name__ == "__main__":
    main()
