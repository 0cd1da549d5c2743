"""DATA step benchmark (issue: language core).

1. 1,000,000 generated rows: assignments + IF/ELSE + a function call
       data b; set a; y = x * 2 + 1; if y > 3 then z = log(y); else z = 0; w = round(x, 0.1); run;
2. wide-to-long: 250,000 rows x 4 explicit OUTPUTs = 1,000,000 output rows
       data long; set wide; time=1; y=y1; output; ... drop y1-y4; run;

Each is timed as sasglm runs it (compile + execute, excluding the input data set creation) and as
a hand-written pandas baseline doing the same work, in the same run.  Prints rows/s and the ratio.
Usage: python bench/bench_datastep.py [--rows N]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from _common import put, quiet_session


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.rows
    rng = np.random.default_rng(1)
    x = rng.normal(2, 2, n)
    x[rng.random(n) < 0.01] = np.nan
    a = pd.DataFrame({"id": np.arange(n, dtype=float), "x": x})
    session = quiet_session()
    put(session, "a", a)

    def sas1():
        session.submit("data b; set a; y = x * 2 + 1; if y > 3 then z = log(y); else z = 0; "
                       "w = round(x, 0.1); run;")

    def pandas1():
        y = a["x"] * 2 + 1
        z = np.where(y > 3, np.log(y.where(y > 3, 1.0)), 0.0)
        w = (a["x"] / 0.1).round() * 0.1
        return a.assign(y=y, z=z, w=w)

    t_sas = best_of(sas1, args.repeat)
    t_pd = best_of(pandas1, args.repeat)
    b = session.get_dataset("b")
    assert b.nobs == n
    print(f"assign+IF+function, {n:,} rows: sasglm {t_sas:.3f}s = {n / t_sas:,.0f} rows/s; "
          f"pandas baseline {t_pd:.3f}s; ratio sasglm/pandas = {t_sas / t_pd:.1f}")
    os.environ["SASGLM_ROW_BACKEND"] = "1"     # the same step on the row-at-a-time backend
    t_row = best_of(sas1, 1)
    del os.environ["SASGLM_ROW_BACKEND"]
    print(f"  (row backend, used when a step needs RETAIN/LAG/loops/INPUT: {t_row:.3f}s = "
          f"{n / t_row:,.0f} rows/s)")

    m = n // 4
    wide = pd.DataFrame({"id": np.arange(m, dtype=float), **{f"y{k}": rng.poisson(3, m).astype(float)
                                                               for k in range(1, 5)}})
    put(session, "wide", wide)

    def sas2():
        session.submit("data long; set wide; time=1; y=y1; output; time=2; y=y2; output; "
                       "time=3; y=y3; output; time=4; y=y4; output; drop y1-y4; run;")

    def pandas2():
        long = wide.melt(id_vars="id", value_vars=["y1", "y2", "y3", "y4"], var_name="time", value_name="y")
        long["time"] = long["time"].str[1:].astype(float)
        return long.sort_values(["id", "time"], kind="stable")

    t_sas2 = best_of(sas2, args.repeat)
    t_pd2 = best_of(pandas2, args.repeat)
    out_rows = session.get_dataset("long").nobs
    assert out_rows == 4 * m
    print(f"wide-to-long OUTPUT, {out_rows:,} output rows: sasglm {t_sas2:.3f}s = {out_rows / t_sas2:,.0f} "
          f"output rows/s; pandas baseline {t_pd2:.3f}s; ratio sasglm/pandas = {t_sas2 / t_pd2:.1f}")


if __name__ == "__main__":
    main()
