"""PROC CORR against R (cor, cor.test, cov, cov.wt; R 4.x, run by hand on exactly these rows).

SAS conventions checked: pairwise deletion by default (each coefficient on the rows where both variables
are present, and the per-cell N printed when the Ns differ), NOMISS (listwise), FREQ as repeated rows,
WEIGHT as weighted product-moment correlation, Spearman p-values from the t approximation with n - 2 DF
(SAS's method; R's cor.test gives an exact p-value instead), and BY groups.
"""
from __future__ import annotations

import math

import pytest

from conftest import run_sas

DATA = """data d;
  input x y z f w;
  datalines;
1 2.5 3 1 0.5
2 3.1 . 2 1
3 2.0 5 1 2
4 4.8 4 3 1
5 5.2 8 1 0.5
6 . 7 2 1.5
7 6.9 9 1 1
8 7.7 6 2 2
;
"""


def _tables(r, name):
    return [t for t in r.session.tables if t.name == name]


def _row(t, var):
    return next(row for row in t.rows if row["Variable"] == var)


def test_pairwise_pearson_spearman_cov_and_outp():
    r = run_sas(DATA + "proc corr data=d pearson spearman cov outp=op; var x y z; run;\n")
    assert not r.errors, r.log
    pear = _tables(r, "PearsonCorr")[0]
    # R: cor(cbind(x, y, z), use = "pairwise")
    assert _row(pear, "x")["y"] == pytest.approx(0.9449947183, abs=1e-9)
    assert _row(pear, "x")["z"] == pytest.approx(0.7362120596, abs=1e-9)
    assert _row(pear, "y")["z"] == pytest.approx(0.6367719756, abs=1e-9)
    # R: cor.test(x, y)$p.value on the 7 complete pairs
    assert _row(pear, "x")["Py"] == pytest.approx(0.001322957385, rel=1e-7)
    assert _row(pear, "y")["Nz"] == 6 and _row(pear, "x")["Nx"] == 8
    assert pear.title == "Pearson Correlation Coefficients"
    assert "Number of Observations" in pear.subtitle
    spear = _tables(r, "SpearmanCorr")[0]
    assert _row(spear, "x")["y"] == pytest.approx(0.8928571429, abs=1e-9)
    assert _row(spear, "y")["z"] == pytest.approx(0.6571428571, abs=1e-9)
    t = 0.8928571429 * math.sqrt(5 / (1 - 0.8928571429 ** 2))
    from scipy import stats
    assert _row(spear, "x")["Py"] == pytest.approx(2 * stats.t.sf(t, 5), rel=1e-7)
    cov = _tables(r, "Cov")[0]
    # R: cov(cbind(x, y, z), use = "pairwise")
    assert _row(cov, "x")["y"] == pytest.approx(5.3, abs=1e-9)
    assert _row(cov, "y")["y"] == pytest.approx(4.786666667, abs=1e-8)
    assert _row(cov, "z")["x"] == pytest.approx(3.833333333, abs=1e-8)
    simple = _tables(r, "SimpleStats")[0]
    assert _row(simple, "y")["N"] == 7 and _row(simple, "y")["Sum"] == pytest.approx(32.2)
    op = r.ds("op").df
    assert op["_TYPE_"].tolist() == ["MEAN", "STD", "N", "CORR", "CORR", "CORR"]
    assert op.loc[4, "x"] == pytest.approx(0.9449947183, abs=1e-9)
    assert "<.0001" not in r.out and "0.0013" in r.out


def test_nomiss_with_and_freq():
    r = run_sas(DATA + "proc corr data=d nomiss; var x y; with z; freq f; run;\n")
    assert not r.errors, r.log
    pear = _tables(r, "PearsonCorr")[0]
    # R: rows with x, y, z all present, each repeated f times; cor and cor.test
    assert [row["Variable"] for row in pear.rows] == ["z"]
    assert _row(pear, "z")["x"] == pytest.approx(0.6690303211, abs=1e-9)
    assert _row(pear, "z")["Px"] == pytest.approx(0.0487673452, rel=1e-7)
    assert _row(pear, "z")["y"] == pytest.approx(0.5664458476, abs=1e-9)
    assert _row(pear, "z")["Py"] == pytest.approx(0.1118038960, rel=1e-7)
    assert pear.title == "Pearson Correlation Coefficients, N = 9"
    simple = _row(_tables(r, "SimpleStats")[0], "z")
    assert (simple["N"], simple["Mean"], simple["StdDev"], simple["Sum"]) == pytest.approx(
        (9, 5.444444444, 2.006932430, 49.0), rel=1e-9)


def test_weighted_correlation():
    r = run_sas(DATA + "proc corr data=d nosimple; var x y z; weight w; run;\n")
    assert not r.errors, r.log
    assert not _tables(r, "SimpleStats")
    pear = _tables(r, "PearsonCorr")[0]
    # R: cov.wt(cbind(x, y)[complete pairs, ], wt = w / sum(w), cor = TRUE)$cor
    assert _row(pear, "x")["y"] == pytest.approx(0.9438502858, abs=1e-9)
    assert _row(pear, "y")["z"] == pytest.approx(0.5554287795, abs=1e-9)


def test_by_groups_and_freq_equal_the_expanded_data():
    expanded = run_sas(DATA + "data e; set d; do i = 1 to f; output; end; run;\n"
                       "proc sort data=e; by f; run;\n"
                       "proc corr data=e noprob; by f; var x z; run;\n")
    freq = run_sas(DATA + "data e; set d; run; proc sort data=e; by f; run;\n"
                   "data e; set e; k = f; run;\n"
                   "proc corr data=e noprob; by f; var x z; freq k; run;\n")
    assert not expanded.errors and not freq.errors, expanded.log + freq.log
    a, b = _tables(expanded, "PearsonCorr"), _tables(freq, "PearsonCorr")
    assert [t.byline for t in a] == ["f=1", "f=2", "f=3"] == [t.byline for t in b]
    for ta, tb in zip(a[:2], b[:2]):
        assert _row(ta, "x")["z"] == pytest.approx(_row(tb, "x")["z"], abs=1e-12)
    assert "Prob > |r|" not in expanded.out


def test_labels_show_in_tables_and_outp():
    r = run_sas("data d; input x y; label x='Exposure'; datalines;\n1 2\n2 3.5\n3 3\n4 6\n;\n"
                "proc corr data=d cov outp=o; run;\n")
    assert not r.errors, r.log
    assert _row(_tables(r, "PearsonCorr")[0], "x")["Label"] == "Exposure"
    assert _row(_tables(r, "Cov")[0], "y")["x"] == pytest.approx(1.916666667)
    assert _tables(r, "Cov")[0].title == "Covariance Matrix, DF = 3"
    assert r.ds("o").var("x").label == "Exposure" and r.ds("o").var("_NAME_").length == 32


def test_outs_invokes_spearman_and_exclnpwgt_drops_zero_weights():
    # SAS: OUTS= invokes SPEARMAN (which then replaces the default Pearson table); EXCLNPWGT excludes
    # observations whose weight is not positive (by default they count, with weight 0)
    r = run_sas(DATA + "data d2; set d; if _n_ = 1 then w = 0; run;\n"
                "proc corr data=d outs=os; var x y z; run;\n"
                "proc corr data=d2 exclnpwgt; var x y; weight w; run;\n"
                "proc corr data=d2; var x y; weight w; run;\n")
    assert not r.errors, r.log
    assert _tables(r, "SpearmanCorr") and len(_tables(r, "PearsonCorr")) == 2
    assert r.ds("os").df.loc[4, "x"] == pytest.approx(0.8928571429, abs=1e-9)
    excl, keep = _tables(r, "PearsonCorr")
    assert _row(excl, "x")["Nx"] == 7 and _row(keep, "x")["Nx"] == 8
    assert _row(excl, "x")["y"] == pytest.approx(_row(keep, "x")["y"], abs=1e-12)


def test_unsupported_options_are_errors():
    r = run_sas(DATA + "proc corr data=d kendall; var x y; run;\n"
                "proc corr data=d spearman; var x y; weight w; run;\n"
                "proc corr data=d; var x y; partial z; run;\n")
    assert len(r.errors) == 3, r.log
    assert "KENDALL" in r.errors[0] and "SPEARMAN" in r.errors[1] and "PARTIAL" in r.errors[2]
