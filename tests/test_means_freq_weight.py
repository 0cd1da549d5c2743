"""PROC MEANS FREQ and WEIGHT, and PROC PRINT SUM.

References: SAS's Base procedures "Keywords and Formulas" (VARDEF=DF): with weights w_i the mean is
sum(w x) / sum(w), the variance sum(w (x - mean)^2) / (n - 1) with n the number of observations, the standard
error sqrt(variance / sum(w)); N, MIN and MAX ignore the weights; an observation with a missing weight is
dropped. FREQ f counts an observation f times (as the expanded data set would). The numbers below are those
formulas worked by hand for these six rows.
"""
from __future__ import annotations

import math

import pytest

from conftest import run_sas

DATA = """data u; input g count w pred; datalines;
1 10 1 0.5
1 5 2 0.7
1 3 0.5 -0.2
2 2 1 1.5
2 1 3 2.5
2 4 . 9
;
"""


def _summary(r, k=0):
    return [t for t in r.session.tables if t.proc == "MEANS"][k].rows[0]


def test_freq_equals_the_expanded_data():
    r = run_sas(DATA + "proc means data=u n mean std sum median; var pred; freq count; run;\n"
                "data e; set u; do i = 1 to count; output; end; run;\n"
                "proc means data=e n mean std sum median; var pred; run;\n")
    assert not r.errors, r.log
    a, b = _summary(r, 0), _summary(r, 1)
    assert a["N"] == 25
    for k in ("N", "Mean", "StdDev", "Sum", "Median"):
        assert a[k] == pytest.approx(b[k], rel=1e-12)


def test_weighted_statistics_follow_the_documented_formulas():
    r = run_sas(DATA + "proc means data=u n mean std stderr sum sumwgt css uss cv t; var pred; weight w; run;\n")
    assert not r.errors, r.log
    row = _summary(r)
    # rows with a weight: x = .5 .7 -.2 1.5 2.5, w = 1 2 .5 1 3; sum(w) = 7.5, sum(w x) = 10.8
    assert row["N"] == 5 and row["SumWgt"] == pytest.approx(7.5) and row["Sum"] == pytest.approx(10.8)
    assert row["Mean"] == pytest.approx(1.44)
    assert row["CSS"] == pytest.approx(6.698) and row["USS"] == pytest.approx(22.25)
    assert row["StdDev"] == pytest.approx(math.sqrt(6.698 / 4))
    assert row["StdErr"] == pytest.approx(math.sqrt(6.698 / 4 / 7.5))
    assert row["t"] == pytest.approx(1.44 / math.sqrt(6.698 / 4 / 7.5))


def test_weighted_output_and_unsupported_statistic():
    r = run_sas(DATA + "proc means data=u noprint nway; class g; var pred; weight w; output out=o mean=m; run;\n"
                "proc means data=u median; var pred; weight w; run;\n")
    assert r.ds("o").df["m"].tolist() == pytest.approx([(0.5 + 1.4 - 0.1) / 3.5, (1.5 + 7.5) / 4])
    assert len(r.errors) == 1 and "MEDIAN" in r.errors[0]


def test_print_sum_underlines_and_totals():
    r = run_sas(DATA + "proc print data=u; var g count; sum count; run;\n")
    lines = [l.split() for l in r.out.splitlines() if l.strip()]
    assert ["====="] in lines and ["25"] in lines
