"""The course program (../shared/seed/course_program.sas) run verbatim with --libname s857=../shared/data.

Reference facts from ../shared/reference/README.md and ../shared/data/PROVENANCE.md: WORK.AMENORRHEA has
4604 observations and 6 variables; WORK.EPILEPSY 295 observations (5 rows per subject), y at time 2
equals y3 (the course code's typo, kept), t = log(8) at time 0 and log(2) otherwise; both sorted by
descending trt with the input order kept within groups.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED, SHARED_DATA, needs_shared, run_sas

pytestmark = needs_shared


@pytest.fixture(scope="module")
def course():
    src = (SHARED / "seed" / "course_program.sas").read_text()
    return run_sas(src, libname_overrides={"s857": str(SHARED_DATA)})


def test_amenorrhea(course):
    ds = course.ds("amenorrhea")
    assert ds.nobs == 4604 and len(ds.columns) == 6
    assert "NOTE: The data set WORK.AMENORRHEA has 4604 observations and 6 variables." in course.log
    df = ds.df
    assert (df["time2"] == df["TIME"] ** 2).all() and (df["t"] == df["TIME"]).all()
    # sorted by descending trt, stable: within each arm the source order (id, time) is kept
    src = pd.read_csv(SHARED_DATA / "amenorrhea.csv")
    expect = pd.concat([src[src.trt == 1], src[src.trt == 0]])
    assert df["ID"].tolist() == expect["id"].astype(float).tolist()
    assert df["TIME"].tolist() == expect["time"].astype(float).tolist()


def test_epilepsy(course):
    ds = course.ds("epilepsy")
    assert ds.nobs == 295
    df = ds.df
    src = pd.read_csv(SHARED_DATA / "epilepsy.csv")
    first = src[src.trt == 1].iloc[0]
    rows = df[df["ID"] == first["id"]]
    assert rows["time"].tolist() == [0, 1, 2, 3, 4]
    assert rows["y"].tolist() == [first.y0, first.y1, first.y3, first.y3, first.y4]
    assert np.allclose(rows["t"], [math.log(8)] + [math.log(2)] * 4)
    assert df["TRT"].tolist() == sorted(df["TRT"].tolist(), reverse=True)
    assert {"Y0", "Y1", "Y2", "Y3", "Y4"}.isdisjoint({c.upper() for c in df.columns})


def test_unimplemented_procs_give_clear_error_and_run_continues(course):
    # every step after an unimplemented PROC still ran (the epilepsy steps come last)
    assert "NOTE: The data set WORK.EPILEPSY has 295 observations and 6 variables." in course.log
    assert "Traceback" not in course.log
