"""RANDOM statements without SUBJECT= (random block;): V is one block of all the data.

References: (1) `random block;` and `random intercept / subject=block;` are the same model (one
variance, independent block effects), so every estimate must agree between the two forms; (2) the
split-plot example of the SAS/STAT PROC MIXED documentation ("Split-Plot Design", Stroup 1989 data),
whose printed covariance parameters (62.3958, 15.3819, 9.3611), Type 3 F values (4.07, 19.39, 4.02) and
Fit Statistics (-2 Res Log Likelihood 119.8, AIC 125.8, AICC 127.5, BIC 123.9) we reproduce with PROC
GLIMMIX DIST=NORMAL and PROC MIXED; BIC = 119.8 + 3 log(4) takes n = the 4 levels of Block, the first
random effect, because the data form one subject (SAS's rule for the information criteria)."""
from __future__ import annotations

import math

import pytest

from conftest import run_sas

FLY = """data fly; input block entry n y @@; datalines;
1 14 8 2 1 16 9 1 1 7 13 9 1 6 9 9 1 13 9 2 1 15 14 7 1 8 8 6 1 5 11 8
1 11 12 7 1 12 11 8 1 2 10 8 1 3 12 5 1 10 9 7 1 9 15 8 1 4 19 6 1 1 8 7
2 15 15 6 2 3 11 9 2 10 12 5 2 2 9 9 2 11 20 10 2 7 10 8 2 14 12 4 2 6 10 7
2 5 8 8 2 13 6 0 2 12 9 2 2 16 9 0 2 9 14 9 2 1 13 12 2 8 12 3 2 4 14 7
3 7 7 7 3 13 7 0 3 8 13 3 3 14 9 0 3 4 15 11 3 10 9 7 3 3 15 11 3 9 13 5
3 6 16 9 3 1 8 8 3 15 7 0 3 12 12 8 3 11 8 1 3 16 15 1 3 5 12 7 3 2 16 12
4 9 15 8 4 4 10 6 4 12 13 5 4 1 15 9 4 15 17 6 4 6 8 2 4 14 12 5 4 7 15 8
4 13 13 2 4 8 13 9 4 3 9 9 4 10 6 6 4 2 12 8 4 11 9 7 4 5 11 10 4 16 15 7
;
"""

SP = """data sp; input Block A B Y @@; datalines;
1 1 1 56 1 1 2 41 1 2 1 50 1 2 2 36 1 3 1 39 1 3 2 35
2 1 1 30 2 1 2 25 2 2 1 36 2 2 2 28 2 3 1 33 2 3 2 30
3 1 1 32 3 1 2 24 3 2 1 31 3 2 2 27 3 3 1 15 3 3 2 19
4 1 1 30 4 1 2 25 4 2 1 35 4 2 2 30 4 3 1 17 4 3 2 18
;
"""


def _tabs(r, name, proc="GLIMMIX"):
    return [t for t in r.session.tables if t.name == name and t.proc == proc]


def _kv(t):
    return {row[t.columns[0].name]: row[t.columns[1].name] for row in t.rows}


@pytest.mark.parametrize("method", ["rspl", "laplace"])
def test_random_without_subject_equals_subject_form(method):
    r = run_sas(FLY + f"proc glimmix data=fly method={method}; class block entry; model y/n = entry / s;\n"
                "  random block; run;\n"
                f"proc glimmix data=fly method={method}; class block entry; model y/n = entry / s;\n"
                "  random intercept / subject=block; run;\n")
    assert not r.errors and not r.warnings, r.log
    a, b = _tabs(r, "CovParms")
    assert a.rows[0]["Estimate"] == pytest.approx(b.rows[0]["Estimate"], rel=1e-6, abs=1e-8)
    assert a.rows[0]["Estimate"] > 1e-4
    sa, sb = _tabs(r, "ParameterEstimates")
    for x, y in zip(sa.rows, sb.rows):
        assert (x["Estimate"], x["StdErr"] or 0, x["DF"] or 0) == \
            pytest.approx((y["Estimate"], y["StdErr"] or 0, y["DF"] or 0), rel=1e-5, abs=1e-7)
    fa, fb = (_kv(t) for t in _tabs(r, "FitStatistics"))
    assert fa == pytest.approx(fb, rel=1e-7)         # includes BIC: n = 4 blocks in both forms
    mi = _kv(_tabs(r, "ModelInfo")[0])
    assert mi["Variance Matrix"] == "Not blocked" and "Variance Matrix Blocked By" not in mi
    dims = _kv(_tabs(r, "Dimensions")[0])
    assert (dims["Columns in Z"], dims["Subjects (Blocks in V)"], dims["Max Obs per Subject"]) == (4, 1, 64)


def test_quadrature_needs_subject():
    r = run_sas(FLY + "proc glimmix data=fly method=quad; class block entry; model y/n = entry;\n"
                "  random block; run;\n")
    assert any("METHOD=QUAD needs SUBJECT=" in e for e in r.errors), r.log


def test_split_plot_documentation_example():
    r = run_sas(SP + "proc glimmix data=sp; class A B Block; model Y = A B A*B; random Block A*Block; run;\n"
                "proc mixed data=sp; class A B Block; model Y = A B A*B; random Block A*Block; run;\n")
    assert not r.errors, r.log
    for proc in ("GLIMMIX", "MIXED"):
        cp = [row["Estimate"] for row in _tabs(r, "CovParms", proc)[0].rows]
        assert cp == pytest.approx([62.3958, 15.3819, 9.3611], abs=5e-5)
        t3 = _tabs(r, "Tests3", proc)[0].rows
        assert [round(row["FValue"], 2) for row in t3] == [4.07, 19.39, 4.02]
        assert [row["DenDF"] for row in t3] == [6, 9, 9]
    fit = _kv(_tabs(r, "FitStatistics", "MIXED")[0])
    got = [round(v, 1) for v in fit.values()]
    assert got == [119.8, 125.8, 127.5, 123.9]
    assert list(fit.values())[3] == pytest.approx(list(fit.values())[0] + 3 * math.log(4), rel=1e-12)
