"""PROC GENMOD benchmarks (issue: GENMOD/PLM/SGPLOT).

1. The course program's ALR step (LOGOR=FULLCLUST, 1151 clusters) -- needs ../shared/data.
2. Exchangeable GEE, logistic, on 100,000 simulated clusters of 4 (400,000 rows).

Times the whole PROC step as a user runs it.  Baseline in the same run: the independence GLM fit
of the same data by the same PROC (ratio GEE/GLM), so the figure is comparable across machines.
Usage: python bench/bench_genmod.py [--clusters N]
"""
from __future__ import annotations

import argparse
import tracemalloc

import numpy as np
import pandas as pd

from _common import COURSE_DATA, put, quiet_session, timed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=100_000)
    args = ap.parse_args()
    if (COURSE_DATA / "amenorrhea.sas7bdat").exists():
        s = quiet_session(course_data=True)
        s.submit("data amenorrhea; set s857.amenorrhea; t=time; time2=time**2; run;"
                 "proc sort data=amenorrhea; by descending trt; run;")
        step = ("proc genmod data=amenorrhea descending; class id trt (ref='0') t/param=ref;"
                "model y = time time2 trt*time trt*time2 /dist=binomial link=logit type3 wald;"
                "repeated subject=id / withinsubject=t logor=fullclust; run;")
        t_alr = timed(s, step, repeat=3)
        t_glm = timed(s, "proc genmod data=amenorrhea descending; class trt (ref='0') / param=ref;"
                              "model y = time time2 trt*time trt*time2 /dist=binomial; run;", repeat=3)
        print(f"course ALR FULLCLUST step: {t_alr:.3f}s (GLM baseline {t_glm:.3f}s, ratio {t_alr / t_glm:.1f})")
    K = args.clusters
    rng = np.random.default_rng(11)
    ids = np.repeat(np.arange(K), 4).astype(float)
    t = np.tile(np.arange(1, 5), K).astype(float)
    x = rng.normal(size=4 * K)
    b = np.repeat(rng.normal(scale=0.8, size=K), 4)
    p = 1 / (1 + np.exp(-(-0.5 + 0.3 * t + 0.5 * x + b)))
    y = (rng.random(4 * K) < p).astype(float)
    s = quiet_session()
    put(s, "sim", pd.DataFrame({"id": ids, "t": t, "x": x, "y": y}))
    tracemalloc.start()
    t_gee = timed(s, "proc genmod data=sim descending; class id t; model y = t x / dist=bin;"
                     "repeated subject=id / withinsubject=t type=exch; run;")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    t_glm = timed(s, "proc genmod data=sim descending; model y = t x / dist=bin; run;")
    print(f"exchangeable GEE, {K:,} clusters of 4: {t_gee:.2f}s, peak traced memory {peak / 2**20:.0f} MiB "
          f"(GLM baseline {t_glm:.2f}s, ratio {t_gee / t_glm:.1f})")


if __name__ == "__main__":
    main()
