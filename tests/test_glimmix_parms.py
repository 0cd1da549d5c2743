"""GLIMMIX PARMS: grid search, HOLD= and NOITER under quadrature and pseudo-likelihood.
References: the unconstrained fit of the same model (the grid only picks the start), PROC MIXED's PARMS
HOLD= fit for normal data (RSPL = REML), and the likelihood ordering of constrained and free fits."""
from __future__ import annotations

import pytest

from conftest import run_sas

DATA = """data d; call streaminit(9);
  do id=1 to 40; u = rand('normal'); v = rand('normal')*0.3;
    do t=0 to 3; x = rand('normal'); y = rand('poisson', exp(0.3 + 0.3*x + u*0.5 + v*t));
      z = 1 + x + u + v*t + rand('normal'); output; end; end; run;
"""
STEP = """proc glimmix data=d method=laplace; class id; model y = x t / dist=poisson s;
  random intercept t / subject=id; {parms} run;
"""


def _tabs(r, name, proc="GLIMMIX"):
    return [t for t in r.session.tables if t.name == name and t.proc == proc]


def _m2(r, k):
    return {row["Descr"]: row["Value"] for row in _tabs(r, "FitStatistics")[k].rows}["-2 Log Likelihood"]


def test_grid_search_starts_from_the_best_point_and_reaches_the_free_optimum():
    r = run_sas(DATA + STEP.format(parms="parms (0.1 0.3 0.5) (0.05);") + STEP.format(parms=""))
    assert not r.errors, r.errors
    grid = _tabs(r, "ParmSearch")[0].rows
    assert len(grid) == 3 and min(grid, key=lambda g: g["Neg2LogLike"])["CovP1"] == 0.3
    a = [row["Estimate"] for row in _tabs(r, "CovParms")[0].rows]
    b = [row["Estimate"] for row in _tabs(r, "CovParms")[1].rows]
    assert a == pytest.approx(b, rel=1e-4)


def test_hold_and_noiter_keep_the_values_and_cost_likelihood():
    r = run_sas(DATA + STEP.format(parms="parms (0.3) (0.05) / hold=2;") +
                STEP.format(parms="parms (0.3) (0.05) / noiter;") + STEP.format(parms=""))
    assert not r.errors, r.errors
    held, fixed, free = (_tabs(r, "CovParms")[k].rows for k in range(3))
    assert held[1]["Estimate"] == 0.05 and held[1]["StdErr"] is None and held[0]["StdErr"] > 0
    assert [row["Estimate"] for row in fixed] == [0.3, 0.05]
    assert all(row["StdErr"] is None for row in fixed)
    assert _m2(r, 2) <= _m2(r, 0) <= _m2(r, 1)


def test_pl_hold_equals_mixed_for_normal_data():
    r = run_sas(DATA + """proc glimmix data=d; class id; model z = x t; random intercept t / subject=id;
        parms (0.9) (0.08) (0.8) / hold=3; run;
      proc mixed data=d; class id; model z = x t; random intercept t / subject=id;
        parms (0.9) (0.08) (0.8) / hold=3; run;""")
    assert not r.errors, r.errors
    g = [row["Estimate"] for row in _tabs(r, "CovParms")[0].rows]
    m = [row["Estimate"] for row in _tabs(r, "CovParms", "MIXED")[0].rows]
    assert g == pytest.approx(m, rel=1e-5) and g[2] == 0.8


def test_partial_hold_of_un_is_an_error_under_quadrature():
    r = run_sas(DATA + """proc glimmix data=d method=laplace; class id; model y = x t / dist=poisson;
        random intercept t / subject=id type=un; parms (0.3) (0) (0.05) / hold=1; run;""")
    assert any("HOLD=" in e for e in r.errors)


def test_estimate_adjust_over_the_rows_of_one_statement():
    """ESTIMATE ... / ADJUST=: Bonferroni min(1, m p), Sidak 1 - (1 - p)^m over the m rows, Scheffe with the
    rank of the rows' L (here 2) as numerator DF (formulas from SAS's documentation, applied to the printed
    unadjusted t statistics)."""
    from scipy import stats
    src = """data d; call streaminit(9);
      do id=1 to 40; u = rand('normal'); g = mod(id,3);
        do t=0 to 3; x = rand('normal'); y = rand('poisson', exp(0.3 + 0.3*x + u*0.5 + 0.2*g)); output; end; end; run;
    proc glimmix data=d method=laplace; class id g; model y = x g / dist=poisson; random intercept / subject=id;
      estimate 'a' g 1 0 -1, 'b' g 0 1 -1, 'c' g 1 -1 0 / adjust=bon;
      estimate 'a' g 1 0 -1, 'b' g 0 1 -1, 'c' g 1 -1 0 / adjust=sidak;
      estimate 'a' g 1 0 -1, 'b' g 0 1 -1, 'c' g 1 -1 0 / adjust=scheffe; run;"""
    r = run_sas(src)
    assert not r.errors, r.errors
    bon, sid, sch = (t.rows for t in _tabs(r, "Estimates"))
    for b, s_, c in zip(bon, sid, sch):
        p, t, df = b["Probt"], b["tValue"], b["DF"]
        assert b["Adjp"] == pytest.approx(min(1.0, 3 * p))
        assert s_["Adjp"] == pytest.approx(1 - (1 - p) ** 3)
        assert c["Adjp"] == pytest.approx(stats.f.sf(t * t / 2, 2, df))
        assert (b["Adjustment"], s_["Adjustment"], c["Adjustment"]) == ("Bonferroni", "Sidak", "Scheffe")
